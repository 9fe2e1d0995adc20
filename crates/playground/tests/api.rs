//! The Playground's HTTP and WebSocket API, driven as the page drives it.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Serves the Playground on a free port; returns its address.
async fn serve() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, tapegrad_playground::app()).await.unwrap() });
    address
}

async fn connect(address: std::net::SocketAddr) -> Socket {
    tokio_tungstenite::connect_async(format!("ws://{address}/ws")).await.unwrap().0
}

async fn send(socket: &mut Socket, message: Value) {
    socket.send(Message::Text(message.to_string().into())).await.unwrap();
}

/// The next message of type `kind` (skipping others).
async fn next(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(60), socket.next()).await.unwrap();
        if let Some(Ok(Message::Text(text))) = message {
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["type"] == kind {
                return value;
            }
        }
    }
}

#[tokio::test]
async fn the_page_is_served_whole() {
    let address = serve().await;
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    assert!(body.starts_with("HTTP/1.1 200"));
    for part in ["<canvas id=\"heatmap\"", "id=\"play\"", "new WebSocket", "Regenerate"] {
        assert!(body.contains(part), "{part} missing");
    }
    for fetch in ["src=\"http", "href=\"http", "@import", "fetch(", "XMLHttpRequest"] {
        assert!(!body.contains(fetch), "the page fetches something from elsewhere: {fetch}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn circle_with_the_defaults_reaches_a_test_loss_below_0_05_within_1000_epochs() {
    let address = serve().await;
    let mut socket = connect(address).await;
    send(&mut socket, json!({"cmd": "config", "query": "dataset=circle"})).await;
    let settings = next(&mut socket, "settings").await;
    assert!(settings["query"].as_str().unwrap().contains("networkShape=4,2"));
    let data = next(&mut socket, "data").await;
    assert_eq!((data["train"].as_array().unwrap().len(), data["test"].as_array().unwrap().len()), (250, 250));
    let first = next(&mut socket, "frame").await;
    assert_eq!(first["epoch"], 0);
    assert_eq!(first["output"].as_array().unwrap().len(), 100 * 100);
    let mut reached = None;
    while reached.is_none() {
        send(&mut socket, json!({"cmd": "train", "epochs": 50})).await;
        let frame = next(&mut socket, "frame").await;
        let (epoch, loss) = (frame["epoch"].as_u64().unwrap(), frame["test_loss"].as_f64().unwrap());
        if loss < 0.05 {
            reached = Some(epoch);
        }
        assert!(epoch < 1000, "test loss still {loss} after {epoch} epochs");
    }
    println!("circle: test loss below 0.05 by epoch {}", reached.unwrap());
}

#[tokio::test]
async fn play_sends_frames_and_pause_stops_them() {
    let address = serve().await;
    let mut socket = connect(address).await;
    send(&mut socket, json!({"cmd": "config", "query": ""})).await;
    next(&mut socket, "frame").await;
    send(&mut socket, json!({"cmd": "play"})).await;
    let a = next(&mut socket, "frame").await["epoch"].as_u64().unwrap();
    let b = next(&mut socket, "frame").await["epoch"].as_u64().unwrap();
    assert!(b > a && a >= 1);
    send(&mut socket, json!({"cmd": "pause"})).await;
    send(&mut socket, json!({"cmd": "step"})).await;
    let after = next(&mut socket, "frame").await["epoch"].as_u64().unwrap();
    // Frames already on their way when pause arrived may come first; a step always follows them.
    assert!(after > b);
}

#[tokio::test]
async fn bad_values_are_clamped_or_refused_with_a_message_and_the_server_lives_on() {
    let address = serve().await;
    let mut socket = connect(address).await;
    send(
        &mut socket,
        json!({"cmd": "config", "query": "dataset=moon&networkShape=1,2,3,4,5,6,7,8,9&learningRate=-1&noise=80"}),
    )
    .await;
    let settings = next(&mut socket, "settings").await;
    let notes: Vec<String> =
        settings["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect();
    let all = notes.join(" | ");
    for expected in ["unknown data set", "at most 6 hidden layers", "positive number", "outside 0–50"] {
        assert!(all.contains(expected), "no note about {expected}: {all}");
    }
    let query = settings["query"].as_str().unwrap();
    assert!(
        query.contains("dataset=circle") && query.contains("networkShape=1,2,3,4,5,6") && query.contains("noise=50"),
        "{query}"
    );
    send(&mut socket, json!({"cmd": "explode"})).await;
    assert!(next(&mut socket, "error").await["message"].as_str().unwrap().contains("bad message"));
    send(&mut socket, json!({"cmd": "weight", "layer": 9, "to": 0, "from": 0, "value": 1.0})).await;
    assert!(next(&mut socket, "error").await["message"].as_str().unwrap().contains("no layer 9"));
    // Still serving, this connection and new ones.
    send(&mut socket, json!({"cmd": "step"})).await;
    assert_eq!(next(&mut socket, "frame").await["epoch"], 1);
    let mut other = connect(address).await;
    send(&mut other, json!({"cmd": "config", "query": "dataset=xor"})).await;
    assert!(next(&mut other, "settings").await["query"].as_str().unwrap().contains("dataset=xor"));
}

#[tokio::test]
async fn a_weight_set_from_the_page_is_the_weight_the_network_uses() {
    let address = serve().await;
    let mut socket = connect(address).await;
    send(&mut socket, json!({"cmd": "config", "query": "networkShape=3"})).await;
    next(&mut socket, "frame").await;
    send(&mut socket, json!({"cmd": "weight", "layer": 0, "to": 2, "from": 1, "value": 4.5})).await;
    let frame = next(&mut socket, "frame").await;
    assert_eq!(frame["weights"][0][2][1], 4.5);
    send(&mut socket, json!({"cmd": "bias", "layer": 1, "neuron": 0, "value": -2.0})).await;
    assert_eq!(next(&mut socket, "frame").await["biases"][1][0], -2.0);
}

#[tokio::test]
async fn each_connection_has_its_own_run() {
    let address = serve().await;
    let (mut a, mut b) = (connect(address).await, connect(address).await);
    send(&mut a, json!({"cmd": "config", "query": ""})).await;
    send(&mut b, json!({"cmd": "config", "query": ""})).await;
    next(&mut a, "frame").await;
    next(&mut b, "frame").await;
    send(&mut a, json!({"cmd": "train", "epochs": 5})).await;
    assert_eq!(next(&mut a, "frame").await["epoch"], 5);
    send(&mut b, json!({"cmd": "step"})).await;
    assert_eq!(next(&mut b, "frame").await["epoch"], 1);
    drop(a);
    send(&mut b, json!({"cmd": "step"})).await;
    assert_eq!(next(&mut b, "frame").await["epoch"], 2);
}
