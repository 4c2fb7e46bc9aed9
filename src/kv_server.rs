//! `examples/kv_server.rs`: a small key-value store over TCP, served by tokio's
//! multi-threaded runtime, with the load client in the same program.
//!
//! - The protocol is one line per request: `GET key`, `SET key value`, `DEL key`; one line
//!   per response: `VALUE value`, `NOT_FOUND`, `STORED`, `DELETED`, or `ERROR reason`.
//! - [`Listener::run`] is the accept loop: it spawns a task per connection
//!   ([`handle_connection`], handed off so that it counts for the accept loop), which reads request lines, parses them ([`parse_request`])
//!   and executes them ([`Store::execute`]) on one `HashMap` behind a mutex, shared by all
//!   connections.
//! - [`run_load`] starts [`Load::clients`] client tasks ([`run_client`]) that each send
//!   [`Load::requests`] requests and check every response against a model of the store.
//!
//! Every client works on keys of its own (`c3:k7`), so each response is known in advance
//! and the whole run is deterministic ([`expected_tally`]) however the runtime schedules
//! the tasks. Only the loopback interface is used (`127.0.0.1`, a port chosen by the
//! system).
//!
//! `tests/live_kv_server.rs` runs the same code in-process and checks alloc-trace's
//! process-wide numbers, taken while the runtime's workers are alive, against an
//! independent count of every allocation.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::AddAssign;
use std::sync::{Arc, Mutex, PoisonError};

use alloc_trace::{InCurrentSite, track_allocs};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Worker threads of the example's runtime.
pub const WORKERS: usize = 4;

/// How much work the load client does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Load {
    /// Concurrent client tasks, one connection each.
    pub clients: u32,
    /// Requests each client sends, one at a time (it waits for each response).
    pub requests: u32,
    /// Distinct keys each client uses.
    pub keys: u32,
}

/// The example's load: 8 clients of 250 requests each, 16 keys per client.
pub const LOAD: Load = Load {
    clients: 8,
    requests: 250,
    keys: 16,
};

/// A parsed request line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `GET key`
    Get(String),
    /// `SET key value`
    Set(String, String),
    /// `DEL key`
    Del(String),
}

/// Why a request line could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The line is blank.
    Empty,
    /// The first word is not `GET`, `SET` or `DEL`.
    UnknownCommand,
    /// No key after the command.
    MissingKey,
    /// `SET` without a value.
    MissingValue,
    /// More words than the command takes.
    TrailingInput,
}

impl ParseError {
    /// The reason sent back in an `ERROR` line.
    #[must_use]
    pub const fn reason(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::UnknownCommand => "unknown-command",
            Self::MissingKey => "missing-key",
            Self::MissingValue => "missing-value",
            Self::TrailingInput => "trailing-input",
        }
    }
}

/// What the store answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// `VALUE value`: the value of a `GET`.
    Value(String),
    /// `NOT_FOUND`: a `GET` or `DEL` of a key that is not there.
    NotFound,
    /// `STORED`: a `SET`.
    Stored,
    /// `DELETED`: a `DEL` of a key that was there.
    Deleted,
    /// `ERROR reason`: a line that is not a request.
    Error(ParseError),
}

impl Response {
    /// Appends the response line (with its `\n`) to `out`.
    pub fn write_line(&self, out: &mut String) {
        match self {
            Self::Value(value) => {
                out.push_str("VALUE ");
                out.push_str(value);
            }
            Self::NotFound => out.push_str("NOT_FOUND"),
            Self::Stored => out.push_str("STORED"),
            Self::Deleted => out.push_str("DELETED"),
            Self::Error(e) => {
                out.push_str("ERROR ");
                out.push_str(e.reason());
            }
        }
        out.push('\n');
    }
}

/// Parses one request line (its `\n` or `\r\n` included or not) into an owned request.
///
/// # Errors
///
/// If the line is not `GET key`, `SET key value` or `DEL key`.
#[track_allocs]
pub fn parse_request(line: &str) -> Result<Request, ParseError> {
    parse(line)
}

/// [`parse_request`], untracked: for the clients' model of the store.
fn parse(line: &str) -> Result<Request, ParseError> {
    let mut words = line.split_ascii_whitespace();
    let command = words.next().ok_or(ParseError::Empty)?;
    if !matches!(command, "GET" | "SET" | "DEL") {
        return Err(ParseError::UnknownCommand);
    }
    let key = words.next().ok_or(ParseError::MissingKey)?;
    let request = match command {
        "GET" => Request::Get(key.to_owned()),
        "DEL" => Request::Del(key.to_owned()),
        _ => {
            let value = words.next().ok_or(ParseError::MissingValue)?;
            Request::Set(key.to_owned(), value.to_owned())
        }
    };
    if words.next().is_some() {
        return Err(ParseError::TrailingInput);
    }
    Ok(request)
}

/// The key-value store: one map behind a mutex, shared by every connection.
#[derive(Debug, Default)]
pub struct Store {
    map: Mutex<HashMap<String, String>>,
}

impl Store {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Keys stored.
    #[must_use]
    pub fn len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True if no key is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[track_allocs]
impl Store {
    /// Executes one request.
    pub fn execute(&self, request: Request) -> Response {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        match request {
            Request::Get(key) => map
                .get(&key)
                .map_or(Response::NotFound, |value| Response::Value(value.clone())),
            Request::Set(key, value) => {
                map.insert(key, value);
                Response::Stored
            }
            Request::Del(key) => {
                if map.remove(&key).is_some() {
                    Response::Deleted
                } else {
                    Response::NotFound
                }
            }
        }
    }
}

/// Responses counted by kind: what a connection served, or what a client received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Requests answered.
    pub requests: u64,
    /// `VALUE` responses (`GET` of a key that is there).
    pub values: u64,
    /// `NOT_FOUND` responses.
    pub not_found: u64,
    /// `STORED` responses.
    pub stored: u64,
    /// `DELETED` responses.
    pub deleted: u64,
    /// `ERROR` responses.
    pub errors: u64,
}

impl Tally {
    /// Counts one response.
    pub fn count(&mut self, response: &Response) {
        self.requests += 1;
        match response {
            Response::Value(_) => self.values += 1,
            Response::NotFound => self.not_found += 1,
            Response::Stored => self.stored += 1,
            Response::Deleted => self.deleted += 1,
            Response::Error(_) => self.errors += 1,
        }
    }
}

impl AddAssign for Tally {
    fn add_assign(&mut self, o: Self) {
        self.requests += o.requests;
        self.values += o.values;
        self.not_found += o.not_found;
        self.stored += o.stored;
        self.deleted += o.deleted;
        self.errors += o.errors;
    }
}

impl fmt::Display for Tally {
    /// `2000 requests: 640 VALUE, 400 NOT_FOUND, 800 STORED, 140 DELETED, 20 ERROR`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requests: {} VALUE, {} NOT_FOUND, {} STORED, {} DELETED, {} ERROR",
            self.requests, self.values, self.not_found, self.stored, self.deleted, self.errors
        )
    }
}

/// Serves one connection until the client closes it: reads request lines, answers each.
///
/// # Errors
///
/// If reading or writing the socket fails.
#[track_allocs]
pub async fn handle_connection(mut stream: TcpStream, store: Arc<Store>) -> io::Result<Tally> {
    let (reader, mut writer) = stream.split();
    let mut reader = BufReader::new(reader);
    let mut line = String::new();
    let mut out = String::new();
    let mut served = Tally::default();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(served);
        }
        let response = match parse_request(&line) {
            Ok(request) => store.execute(request),
            Err(e) => Response::Error(e),
        };
        served.count(&response);
        out.clear();
        response.write_line(&mut out);
        writer.write_all(out.as_bytes()).await?;
    }
}

/// The listening socket and the store its connections share.
#[derive(Debug)]
pub struct Listener {
    socket: TcpListener,
    store: Arc<Store>,
}

#[track_allocs]
impl Listener {
    /// Listens on `127.0.0.1`, on a port the system chooses.
    ///
    /// # Errors
    ///
    /// If the socket cannot be bound.
    pub async fn bind(store: Arc<Store>) -> io::Result<Self> {
        let socket = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        Ok(Self { socket, store })
    }

    /// The address clients connect to.
    ///
    /// # Errors
    ///
    /// If the system cannot tell (it always can for a bound socket).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The accept loop: spawns a [`handle_connection`] task per connection until
    /// `shutdown` fires (or its sender is dropped), then waits for every connection to
    /// end and returns what they served together. The tasks are marked
    /// ([`InCurrentSite::in_current_site`]): what they allocate is in this function's
    /// inclusive numbers (not in its exclusive ones), under `Listener::run;[task]`.
    ///
    /// # Errors
    ///
    /// If accepting fails, or a connection failed or panicked.
    pub async fn run(self, mut shutdown: oneshot::Receiver<()>) -> io::Result<Tally> {
        let mut connections: Vec<JoinHandle<io::Result<Tally>>> = Vec::new();
        loop {
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                accepted = self.socket.accept() => {
                    let (stream, _) = accepted?;
                    let store = Arc::clone(&self.store);
                    // Marked: each connection's task counts in this call's inclusive
                    // numbers, below a `[task]` frame, on whichever worker it runs.
                    let task = handle_connection(stream, store).in_current_site();
                    connections.push(tokio::spawn(task));
                }
            }
        }
        let mut served = Tally::default();
        for connection in connections {
            served += connection.await.map_err(io::Error::other)??;
        }
        Ok(served)
    }
}

/// A running server: its accept loop is a task of the runtime.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    store: Arc<Store>,
    shutdown: oneshot::Sender<()>,
    accept_loop: JoinHandle<io::Result<Tally>>,
}

impl Server {
    /// Binds the listener and spawns its accept loop on the current runtime.
    ///
    /// # Errors
    ///
    /// If the socket cannot be bound.
    pub async fn start() -> io::Result<Self> {
        let store = Arc::new(Store::new());
        let listener = Listener::bind(Arc::clone(&store)).await?;
        let addr = listener.local_addr()?;
        let (shutdown, stop) = oneshot::channel();
        let accept_loop = tokio::spawn(listener.run(stop));
        Ok(Self {
            addr,
            store,
            shutdown,
            accept_loop,
        })
    }

    /// Where it listens.
    #[must_use]
    pub const fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, waits for open connections to end (their clients must close
    /// them), and returns what was served and how many keys are left in the store.
    ///
    /// # Errors
    ///
    /// As [`Listener::run`].
    pub async fn shutdown(self) -> io::Result<(Tally, usize)> {
        // An accept loop that already ended has dropped its receiver: nothing to stop.
        let _ = self.shutdown.send(());
        let served = self.accept_loop.await.map_err(io::Error::other)??;
        Ok((served, self.store.len()))
    }
}

/// The request line client `client` sends as its `i`-th request, appended to `out`.
///
/// Each client cycles through its `keys` keys (in steps of 7, so consecutive requests use
/// different keys) with `SET`, `GET`, `SET`, `GET`, `DEL`; every 50th request is a
/// malformed `PING`.
pub fn write_request(client: u32, i: u32, keys: u32, out: &mut String) {
    let key = (i * 7) % keys.max(1);
    // Writing into a `String` cannot fail.
    let _ = match (i % 50, i % 5) {
        (49, _) => writeln!(out, "PING"),
        (_, 0 | 2) => writeln!(out, "SET c{client}:k{key} v{client}.{i}"),
        (_, 1 | 3) => writeln!(out, "GET c{client}:k{key}"),
        _ => writeln!(out, "DEL c{client}:k{key}"),
    };
}

/// One client: connects, sends `load.requests` requests one at a time, checks each
/// response against a model of its own keys, then closes the connection.
///
/// # Errors
///
/// If the connection fails, or a response is not the one the model expects.
#[track_allocs]
pub async fn run_client(addr: SocketAddr, client: u32, load: Load) -> io::Result<Tally> {
    let mut stream = TcpStream::connect(addr).await?;
    let (reader, mut writer) = stream.split();
    let mut reader = BufReader::new(reader);
    let mut model = Model::default();
    let (mut request, mut response, mut expected) = (String::new(), String::new(), String::new());
    let mut received = Tally::default();
    for i in 0..load.requests {
        request.clear();
        write_request(client, i, load.keys, &mut request);
        writer.write_all(request.as_bytes()).await?;
        response.clear();
        if reader.read_line(&mut response).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let answer = model.answer(&request);
        expected.clear();
        answer.write_line(&mut expected);
        if response != expected {
            return Err(io::Error::other(format!(
                "client {client}, request {i} {:?}: got {response:?}, expected {expected:?}",
                request.trim_end()
            )));
        }
        received.count(&answer);
    }
    Ok(received)
}

/// Runs `load.clients` clients against `addr` at once, waits for all of them and returns
/// what they received together.
///
/// # Errors
///
/// If a client failed or panicked.
#[track_allocs]
pub async fn run_load(addr: SocketAddr, load: Load) -> io::Result<Tally> {
    let clients: Vec<JoinHandle<io::Result<Tally>>> = (0..load.clients)
        .map(|client| tokio::spawn(run_client(addr, client, load)))
        .collect();
    let mut received = Tally::default();
    for client in clients {
        received += client.await.map_err(io::Error::other)??;
    }
    Ok(received)
}

/// What a run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The load.
    pub load: Load,
    /// What the clients received.
    pub received: Tally,
    /// What the server's connections served.
    pub served: Tally,
    /// Keys in the store at the end.
    pub keys_left: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "kv_server: {} clients x {} requests, {} served ({}); {} keys left",
            self.load.clients,
            self.load.requests,
            self.served.requests,
            self.served,
            self.keys_left
        )
    }
}

/// The whole example on the current runtime: starts the server, runs the load, shuts the
/// server down.
///
/// # Errors
///
/// If the server or a client failed.
pub async fn run(load: Load) -> io::Result<Summary> {
    let server = Server::start().await?;
    let received = run_load(server.addr(), load).await?;
    let (served, keys_left) = server.shutdown().await?;
    Ok(Summary {
        load,
        received,
        served,
        keys_left,
    })
}

/// A client's model of its own keys: what the store must answer.
#[derive(Debug, Default)]
struct Model {
    map: HashMap<String, String>,
}

impl Model {
    fn answer(&mut self, line: &str) -> Response {
        match parse(line) {
            Err(e) => Response::Error(e),
            Ok(Request::Get(key)) => self
                .map
                .get(&key)
                .map_or(Response::NotFound, |v| Response::Value(v.clone())),
            Ok(Request::Set(key, value)) => {
                self.map.insert(key, value);
                Response::Stored
            }
            Ok(Request::Del(key)) => {
                if self.map.remove(&key).is_some() {
                    Response::Deleted
                } else {
                    Response::NotFound
                }
            }
        }
    }
}

/// What a run of `load` must serve, and how many keys it must leave, computed without a
/// server (each client's keys are its own, so the order of clients does not matter).
#[must_use]
pub fn expected_tally(load: Load) -> (Tally, usize) {
    let mut tally = Tally::default();
    let mut keys_left = 0;
    for client in 0..load.clients {
        let mut model = Model::default();
        let mut line = String::new();
        for i in 0..load.requests {
            line.clear();
            write_request(client, i, load.keys, &mut line);
            tally.count(&model.answer(&line));
        }
        keys_left += model.map.len();
    }
    (tally, keys_left)
}
