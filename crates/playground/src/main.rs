//! `tapegrad-playground [--port N]`: serves the Playground on 127.0.0.1 (port 8000 by default)
//! and prints its URL.

use std::net::SocketAddr;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port = match args.iter().position(|a| a == "--port") {
        Some(i) => match args.get(i + 1).and_then(|p| p.parse::<u16>().ok()) {
            Some(port) => port,
            None => {
                eprintln!("--port needs a number from 0 to 65535");
                std::process::exit(2);
            }
        },
        None => 8000,
    };
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = match tokio::net::TcpListener::bind(address).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {address}: {e} (another program may use the port; try --port 8001)");
            std::process::exit(1);
        }
    };
    let address = listener.local_addr().unwrap_or(address);
    println!("tapegrad Playground: open http://{address}/ in a browser (Ctrl-C stops it)");
    if let Err(e) = axum::serve(listener, tapegrad_playground::app()).await {
        eprintln!("the server stopped: {e}");
        std::process::exit(1);
    }
}
