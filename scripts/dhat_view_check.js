// Loads a DHAT file the way valgrind's viewer does: runs dh_view.js's own `buildTree`
// (its field checks and its tree of program points) headless, in a Node VM with the one
// page element it touches stubbed, and prints the root's totals as JSON.
//
// Usage: node dhat_view_check.js DH_VIEW_JS DHAT_JSON
// Exit status 1 with the viewer's error when it refuses the file.
"use strict";
const fs = require("fs");
const vm = require("vm");

const [viewer, file] = process.argv.slice(2);
// The script sets the page title when it loads; nothing else runs before `onLoad`.
const context = vm.createContext({ console, document: {} });
vm.runInContext(fs.readFileSync(viewer, "utf8"), context, { filename: viewer });
context.__data = JSON.parse(fs.readFileSync(file, "utf8"));
try {
  const result = vm.runInContext(
    `
    gData = __data;
    // The sort-metric drop-down: buildTree labels and enables its options.
    gSelect = {
      childNodes: gSelectData.map(() => ({ label: "", disabled: false, selected: false })),
      selectedIndex: gSelectData.findIndex((d) => d.isDefault),
    };
    buildTree();
    const enabled = gSelectData
      .map((d, i) => [d.label(), gSelect.childNodes[i].disabled])
      .filter(([, disabled]) => !disabled)
      .map(([label]) => label);
    JSON.stringify({
      totalBytes: gRoot._totalBytes,
      totalBlocks: gRoot._totalBlocks,
      kids: gRoot._kids ? gRoot._kids.length : 0,
      enabledSortMetrics: enabled,
    });
    `,
    context
  );
  console.log(result);
} catch (e) {
  console.error(`dh_view.js refuses the file: ${e.message}`);
  process.exit(1);
}
