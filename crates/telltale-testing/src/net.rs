//! Loopback networking for tests: free ports, waiting for a listener, and a bare HTTP/1.0 client.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A free port on loopback (bound once by the system, then released for the test's server).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().expect("a bound address").port()
}

/// Waits until something accepts connections on 127.0.0.1:`port`, at most `within`; whether it did.
pub fn wait_port(port: u16, within: Duration) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while start.elapsed() < within {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// `method path` to 127.0.0.1:`port` over HTTP/1.0 (the server closes the connection), with a bearer token if
/// given: (status, body), or `None` if nothing answers within 5 s.
pub fn http(port: u16, method: &str, path: &str, bearer: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let auth = bearer.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    s.write_all(format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n{auth}\r\n").as_bytes())
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split(' ').nth(1)?.parse().ok()?;
    text.split_once("\r\n\r\n").map(|(_, body)| (status, body.to_owned()))
}

/// `GET path` from 127.0.0.1:`port`: the body, or `None` if nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    http(port, "GET", path, None).map(|(_, body)| body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_is_found_and_an_http_answer_read() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            // wait_port's probes connect and close without a word: answer the first connection that asks.
            loop {
                let (mut conn, _) = listener.accept().expect("accept");
                let mut request = [0u8; 1024];
                let n = conn.read(&mut request).expect("request");
                if n == 0 {
                    continue;
                }
                conn.write_all(b"HTTP/1.0 418 I'm a teapot\r\nContent-Type: text/plain\r\n\r\nshort and stout")
                    .expect("answer");
                return String::from_utf8_lossy(&request[..n]).into_owned();
            }
        });
        assert!(wait_port(port, Duration::from_secs(5)));
        let answer = http(port, "PUT", "/api/x", Some("tok"));
        let request = server.join().expect("server thread");
        assert_eq!(answer, Some((418, "short and stout".to_owned())));
        assert!(request.starts_with("PUT /api/x HTTP/1.0\r\n"), "{request}");
        assert!(request.contains("Authorization: Bearer tok\r\n"), "{request}");
    }

    #[test]
    fn nothing_listening_is_none() {
        let port = free_port();
        assert!(!wait_port(port, Duration::from_millis(200)));
        assert_eq!(http_get(port, "/health"), None);
    }
}
