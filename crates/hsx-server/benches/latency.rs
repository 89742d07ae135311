//! `ps` round-trip latency on loopback (issue #5): idle, and while two guests run flat
//! out under `clock start`. Prints p50/p99/max in microseconds.
//!
//!     cargo bench -p hsx-server --bench latency

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use hsx_image::WriteInput;
use hsx_isa::{Opcode, encode};
use hsx_server::{LogLevel, Server, ServerConfig};

const SAMPLES: usize = 5000;

fn spin_image(dir: &std::path::Path, name: &str) -> String {
    // loop: ADD R2, R2, R1; JMP loop  (never ends)
    let input = WriteInput {
        code: vec![
            encode::rrr(Opcode::Add, 2, 2, 1),
            encode::jump(Opcode::Jmp, 0),
        ],
        entry: 0,
        rodata: Vec::new(),
        bss_size: 0,
        req_caps: 0,
        app_name: name.into(),
        allow_multiple: true,
        values: Vec::new(),
        commands: Vec::new(),
        mailboxes: Vec::new(),
    };
    let path = dir.join(format!("{name}.hxe"));
    std::fs::write(&path, hsx_image::write_hxe(&input).expect("image")).expect("write");
    path.display().to_string()
}

struct Client {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Client {
    fn req(&mut self, line: &str) -> String {
        self.w.write_all(line.as_bytes()).unwrap();
        self.w.write_all(b"\n").unwrap();
        let mut s = String::new();
        self.r.read_line(&mut s).unwrap();
        s
    }
}

fn measure(c: &mut Client) -> (Duration, Duration, Duration) {
    let mut v: Vec<Duration> = (0..SAMPLES)
        .map(|_| {
            let t = Instant::now();
            let r = c.req(r#"{"cmd":"ps"}"#);
            let d = t.elapsed();
            assert!(r.contains("\"ok\""), "{r}");
            d
        })
        .collect();
    v.sort();
    (v[SAMPLES / 2], v[SAMPLES * 99 / 100], v[SAMPLES - 1])
}

fn main() {
    let dir = std::env::temp_dir().join(format!("hsx-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = ServerConfig {
        port: 0,
        log_level: LogLevel::Error,
        ..ServerConfig::default()
    };
    let server = Server::bind(config).expect("bind");
    let addr = server.local_addr();
    let stop = server.shutdown_handle();
    let thread = std::thread::spawn(move || server.run());
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut c = Client {
        w: stream.try_clone().unwrap(),
        r: BufReader::new(stream),
    };
    for name in ["spin_a", "spin_b"] {
        let path = spin_image(&dir, name);
        let r = c.req(&format!(r#"{{"cmd":"load","path":"{path}"}}"#));
        assert!(r.contains("\"ok\""), "{r}");
    }
    let (p50, p99, max) = measure(&mut c);
    println!(
        "ps round trip, idle:          p50 {:>6.1} us  p99 {:>6.1} us  max {:>7.1} us",
        us(p50),
        us(p99),
        us(max)
    );
    c.req(r#"{"cmd":"clock","op":"start"}"#);
    std::thread::sleep(Duration::from_millis(200));
    let before = steps(&mut c);
    let t = Instant::now();
    let (p50, p99, max) = measure(&mut c);
    let rate = (steps(&mut c) - before) as f64 / t.elapsed().as_secs_f64();
    println!(
        "ps round trip, clock running: p50 {:>6.1} us  p99 {:>6.1} us  max {:>7.1} us  (guests: {:.1} M instructions/s)",
        us(p50),
        us(p99),
        us(max),
        rate / 1e6
    );
    stop.shutdown();
    let _ = thread.join();
    let _ = std::fs::remove_dir_all(&dir);
}

fn steps(c: &mut Client) -> u64 {
    let r = c.req(r#"{"cmd":"clock"}"#);
    let v: serde_json::Value = serde_json::from_str(&r).unwrap();
    v["clock"]["auto_total_steps"].as_u64().unwrap_or(0)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
