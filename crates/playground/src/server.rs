//! The HTTP side: `/` serves the page (embedded in the binary), `/ws` runs one Playground per
//! WebSocket connection. A connection's run lives in its own task and ends with it.
//!
//! Messages from the page are JSON objects with a `cmd`: `config` (with the URL's `query`),
//! `play`, `pause`, `step`, `train` (`epochs`), `reset`, `regenerate`, `weight` (`layer`, `to`, `from`, `value`),
//! `bias` (`layer`, `neuron`, `value`). The server answers with `settings` (the query it
//! used and a note for each value it had to change), `data` (the points) and `frame`s, or an
//! `error` with a message; a bad message never ends the connection.

use crate::run::{Frame, Run};
use crate::settings::Settings;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The page: plain HTML, CSS and JavaScript, nothing fetched from elsewhere.
pub const PAGE: &str = include_str!("page.html");

/// The router: the page and the WebSocket.
pub fn app() -> Router {
    Router::new().route("/", get(|| async { Html(PAGE) })).route("/ws", get(upgrade))
}

async fn upgrade(ws: WebSocketUpgrade) -> impl IntoResponse {
    ws.on_upgrade(session)
}

/// A message from the page.
#[derive(Debug, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase")]
pub enum Command {
    /// Start over with the settings of a query string.
    Config {
        /// The URL's query string.
        query: String,
    },
    /// Train continuously.
    Play,
    /// Stop training.
    Pause,
    /// Train one epoch.
    Step,
    /// Train `epochs` epochs (at most 10,000) and send one frame.
    Train {
        /// How many.
        epochs: usize,
    },
    /// New initial weights.
    Reset,
    /// New data (the next seed) and new weights.
    Regenerate,
    /// Set one weight.
    Weight {
        /// The layer (0 = from the inputs).
        layer: usize,
        /// The neuron it goes to.
        to: usize,
        /// The neuron (or input) it comes from.
        from: usize,
        /// The new value.
        value: f64,
    },
    /// Set one bias.
    Bias {
        /// The layer.
        layer: usize,
        /// The neuron.
        neuron: usize,
        /// The new value.
        value: f64,
    },
}

/// A message to the page.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Reply<'a> {
    /// The settings in use.
    Settings {
        /// As a query string.
        query: String,
        /// What had to change.
        notes: Vec<String>,
    },
    /// The points, `[x, y, label]`.
    Data {
        /// Training points.
        train: Vec<[f64; 3]>,
        /// Test points.
        test: Vec<[f64; 3]>,
    },
    /// What to draw.
    Frame(&'a Frame),
    /// A command could not be followed.
    Error {
        /// Why.
        message: String,
    },
}

/// The longest the page waits between frames while playing.
const FRAME_INTERVAL: Duration = Duration::from_millis(16);

async fn session(mut socket: WebSocket) {
    let mut run = Run::new(Settings::default());
    let mut playing = false;
    let mut ticker = tokio::time::interval(FRAME_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let send = tokio::select! {
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => handle(&mut run, &mut playing, &text),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => Vec::new(),
            },
            _ = ticker.tick(), if playing => {
                run.train_epoch();
                vec![frame(&run)]
            }
        };
        for text in send {
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
        }
    }
}

/// Follows one command; returns the messages to send.
pub fn handle(run: &mut Run, playing: &mut bool, text: &str) -> Vec<String> {
    let command: Command = match serde_json::from_str(text) {
        Ok(c) => c,
        Err(e) => return vec![json(&Reply::Error { message: format!("bad message: {e}") })],
    };
    match command {
        Command::Config { query } => {
            let (settings, notes) = Settings::from_query(&query);
            *run = Run::new(settings);
            *playing = false;
            started(run, notes)
        }
        Command::Play => {
            *playing = true;
            Vec::new()
        }
        Command::Pause => {
            *playing = false;
            Vec::new()
        }
        Command::Step => {
            run.train_epoch();
            vec![frame(run)]
        }
        Command::Train { epochs } => {
            for _ in 0..epochs.min(10_000) {
                run.train_epoch();
            }
            vec![frame(run)]
        }
        Command::Reset => {
            run.reset();
            vec![frame(run)]
        }
        Command::Regenerate => {
            let mut settings = run.settings.clone();
            settings.seed = settings.seed.wrapping_add(1);
            *run = Run::new(settings);
            started(run, Vec::new())
        }
        Command::Weight { layer, to, from, value } => match run.set_weight(layer, to, from, value) {
            Ok(()) => vec![frame(run)],
            Err(message) => vec![json(&Reply::Error { message })],
        },
        Command::Bias { layer, neuron, value } => match run.set_bias(layer, neuron, value) {
            Ok(()) => vec![frame(run)],
            Err(message) => vec![json(&Reply::Error { message })],
        },
    }
}

/// The messages that start a run: its settings, its data, its first frame.
fn started(run: &Run, notes: Vec<String>) -> Vec<String> {
    let points = |ps: &[crate::data::Point]| ps.iter().map(|p| [p.x, p.y, p.label]).collect();
    vec![
        json(&Reply::Settings { query: run.settings.to_query(), notes }),
        json(&Reply::Data { train: points(&run.train), test: points(&run.test) }),
        frame(run),
    ]
}

fn frame(run: &Run) -> String {
    json(&Reply::Frame(&run.frame()))
}

fn json(reply: &Reply<'_>) -> String {
    serde_json::to_string(reply).expect("replies are plain data")
}
