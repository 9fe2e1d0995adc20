//! The page in a real browser: headless Chromium driven over the DevTools protocol. Press
//! Play, see the epoch counter and the loss curve move, switch the data set through the URL,
//! check the heatmap is not blank, and save a screenshot to out/playground.png.
//!
//! Needs Chromium (Debian's `chromium`), which `.ci/run` installs; run it with
//! `cargo test -p tapegrad-playground --test browser -- --ignored`.

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A DevTools connection to one page.
struct Page {
    socket: Socket,
    next_id: u64,
}

impl Page {
    /// Sends a DevTools command and waits for its answer.
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.socket
            .send(Message::Text(json!({"id": id, "method": method, "params": params}).to_string().into()))
            .await
            .unwrap();
        loop {
            let message =
                tokio::time::timeout(Duration::from_secs(30), self.socket.next()).await.expect("DevTools answers");
            if let Some(Ok(Message::Text(text))) = message {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["id"] == id {
                    assert!(value.get("error").is_none(), "{method}: {value}");
                    return value["result"].clone();
                }
            }
        }
    }
    /// Evaluates a JavaScript expression in the page.
    async fn eval(&mut self, expression: &str) -> Value {
        let result = self.call("Runtime.evaluate", json!({"expression": expression, "returnByValue": true})).await;
        result["result"]["value"].clone()
    }
    /// Evaluates `expression` until it is true (or panics after 20 s).
    async fn wait_for(&mut self, expression: &str) {
        for _ in 0..200 {
            if self.eval(expression).await == Value::Bool(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never true: {expression}");
    }
    async fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
        self.wait_for("document.readyState === 'complete' && document.getElementById('epoch') !== null").await;
    }
}

/// An HTTP GET on localhost, returning the body (read to its Content-Length: Chromium's
/// DevTools server keeps the connection open).
async fn get(port: u16, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await.unwrap().unwrap();
        bytes.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&bytes).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|l| {
                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap())
            });
            if n == 0 || length.is_some_and(|len| body.len() >= len) {
                return body.to_string();
            }
        }
        assert!(n > 0, "the connection closed before the headers ended");
    }
}

/// Counts the distinct colours of a canvas (1 means blank).
const COLOURS: &str = "(id => { const c = document.getElementById(id); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
     const seen = new Set(); for (let i = 0; i < d.length; i += 4) seen.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]); return seen.size; })";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium; .ci/run runs it"]
async fn play_switch_data_set_and_screenshot_in_headless_chromium() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, tapegrad_playground::app()).await.unwrap() });

    let profile = std::env::temp_dir().join(format!("tapegrad-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let mut chromium = std::process::Command::new(std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into()))
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1400,800",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromium runs (install Debian's chromium, or set CHROMIUM to its path)");
    // Chromium writes its DevTools port to the profile once it listens.
    let port_file = profile.join("DevToolsActivePort");
    let mut port = None;
    for _ in 0..100 {
        if let Some(p) = std::fs::read_to_string(&port_file).ok().and_then(|t| t.lines().next()?.parse::<u16>().ok()) {
            port = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let port = port.expect("chromium opened its DevTools port");
    let targets: Value = serde_json::from_str(&get(port, "/json/list").await).unwrap();
    let target = targets.as_array().unwrap().iter().find(|t| t["type"] == "page").expect("a page").clone();
    let socket = tokio_tungstenite::connect_async(target["webSocketDebuggerUrl"].as_str().unwrap()).await.unwrap().0;
    let mut page = Page { socket, next_id: 0 };

    page.navigate(&format!("http://{address}/")).await;
    page.wait_for("document.getElementById('test-loss').textContent !== '–'").await;
    assert_eq!(page.eval("document.getElementById('epoch').textContent").await, "000,000");
    page.eval("document.getElementById('play').click()").await;
    page.wait_for("Number(document.getElementById('epoch').textContent.replace(/,/g, '')) >= 30").await;
    assert!(page.eval(&format!("{COLOURS}('curve')")).await.as_u64().unwrap() > 1, "the loss curve is blank");
    assert!(page.eval(&format!("{COLOURS}('heatmap')")).await.as_u64().unwrap() > 10, "the heatmap is blank");
    assert_eq!(page.eval("document.getElementById('play').textContent").await, "❚❚ Pause");

    // Paused, hovering a hidden neuron shows its map large in place of the output.
    page.eval("document.getElementById('play').click()").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hash = "(() => { const c = document.getElementById('heatmap'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
                let h = 0; for (let i = 0; i < d.length; i += 97) h = (h * 31 + d[i]) % 1000000007; return h; })()";
    let output = page.eval(hash).await;
    page.eval(
        "document.querySelectorAll('.layer')[1].querySelector('canvas').dispatchEvent(new MouseEvent('mouseenter'))",
    )
    .await;
    assert_ne!(page.eval(hash).await, output, "hovering a neuron does not show it");
    page.eval(
        "document.querySelectorAll('.layer')[1].querySelector('canvas').dispatchEvent(new MouseEvent('mouseleave'))",
    )
    .await;
    assert_eq!(page.eval(hash).await, output);

    // A link reproduces a run: the data set and the network come from the URL.
    page.navigate(&format!("http://{address}/?dataset=spiral&networkShape=8,8,5&sinX=true&sinY=true")).await;
    page.wait_for("document.querySelector('button.dataset.on') !== null && document.getElementById('test-loss').textContent !== '–'").await;
    assert_eq!(page.eval("document.querySelector('button.dataset.on').dataset.name").await, "spiral");
    assert_eq!(page.eval("document.querySelectorAll('.layer').length").await, 5); // features, 3 hidden, output
    page.eval("document.getElementById('play').click()").await;
    page.wait_for("Number(document.getElementById('epoch').textContent.replace(/,/g, '')) >= 60").await;
    assert!(page.eval(&format!("{COLOURS}('heatmap')")).await.as_u64().unwrap() > 10);
    assert!(page.eval("location.search.includes('dataset=spiral')").await.as_bool().unwrap());

    // A bad value is corrected, and the page says so.
    page.navigate(&format!("http://{address}/?dataset=moon&networkShape=1,2,3,4,5,6,7,8,9")).await;
    page.wait_for("document.getElementById('notes').textContent.includes('unknown data set')").await;

    page.navigate(&format!("http://{address}/?dataset=xor&showTestData=true")).await;
    page.wait_for("document.querySelector('button.dataset.on')?.dataset.name === 'xor' && document.getElementById('test-loss').textContent !== '–'").await;
    page.eval("document.getElementById('play').click()").await;
    page.wait_for("Number(document.getElementById('epoch').textContent.replace(/,/g, '')) >= 150").await;
    let shot = page.call("Page.captureScreenshot", json!({"format": "png"})).await;
    let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("playground.png"), &png).unwrap();
    assert!(png.len() > 10_000);
    println!("wrote {}", out.join("playground.png").display());

    let _ = chromium.kill();
    let _ = chromium.wait();
    let _ = std::fs::remove_dir_all(&profile);
}
