//! A guest that attacks its sandbox in the way the tenant config `attack` names.
//!
//! Each attack must end in its own precise error (or, for the probes of files, sockets and the
//! environment, in a log line showing the guest got nothing), and the host must keep serving.

use portico_sdk::prelude::*;
use std::hint::black_box;

/// The plugin.
pub struct Hostile;

fn lead(n: usize) -> NewRecord {
    NewRecord::new("Lead").set("LastName", format!("Victim {n}")).set("Company", "Hostile Inc")
}

/// Recursion that keeps its state in wasm locals, so it exhausts the host-enforced wasm stack
/// (not the guest's own shadow stack in linear memory). The non-associative combination keeps
/// LLVM from turning it into a loop.
#[inline(never)]
fn recurse(n: u64) -> u64 {
    if n == 0 { 1 } else { recurse(n - 1).wrapping_mul(3) ^ n }
}

/// Grows linear memory by 6 MiB and fails if any of its pages has a non-zero byte at the offset
/// this probe writes (wasm guarantees grown memory is zero, so such a byte is what an earlier
/// instance in the same pool slot left), then marks every other page of it: hundreds of separate
/// dirty runs, more than one scan of the host's slot reset collects at a time.
#[cfg(target_arch = "wasm32")]
fn probe_fresh_memory() -> Result<()> {
    const PAGE: usize = 4 << 10;
    const GROWN: usize = 6 << 20;
    let before = core::arch::wasm32::memory_grow(0, GROWN / 65536);
    if before == usize::MAX {
        return Err(MappingError::Other("memory.grow refused 6 MiB".into()));
    }
    let base = (before * 65536) as *mut u8;
    let mut stale = 0;
    for page in 0..GROWN / PAGE {
        let probe = base.wrapping_add(page * PAGE + 17);
        // SAFETY: `probe` lies in the pages `memory.grow` just added to linear memory; nothing
        // else refers to them.
        unsafe {
            if probe.read_volatile() != 0 {
                stale += 1;
            }
            if page % 2 == 0 {
                probe.write_volatile(0xA5);
            }
        }
    }
    if stale > 0 {
        return Err(MappingError::Other(format!("{stale} grown pages held an earlier instance's bytes")));
    }
    Ok(())
}

#[cfg(not(target_arch = "wasm32"))]
fn probe_fresh_memory() -> Result<()> {
    Err(MappingError::Other("the memory probe runs only as a wasm guest".into()))
}

impl Mapper for Hostile {
    const MANIFEST: &'static str = include_str!("../portico.toml");

    fn map(_booking: &Booking, host: &mut dyn Host) -> Result<()> {
        let attack = host.config_or("attack", "ok");
        match attack.as_str() {
            "ok" => {
                host.create(lead(0))?;
            }
            "loop" => {
                let mut i: u64 = 0;
                loop {
                    i = black_box(i.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![0xAB; 1 << 20]);
                    black_box(&hoard);
                }
            }
            "recursion" => {
                black_box(recurse(black_box(u64::MAX)));
            }
            "panic" => panic!("hostile guest panicked on purpose"),
            "stage" => {
                for n in 0..10_000 {
                    host.create(lead(n))?;
                }
            }
            "log" => loop {
                host.info("all work and no play makes a dull plugin");
            },
            "stderr" => loop {
                eprintln!("flooding stderr");
            },
            "host-calls" => loop {
                black_box(host.config("attack"));
            },
            "file" => {
                let read = std::fs::read_to_string("/etc/passwd");
                let write = std::fs::write("/tmp/portico-hostile", b"x");
                let dir = std::fs::read_dir("/").map(|d| d.count());
                host.info(&format!(
                    "file read: {:?}; write: {:?}; list: {:?}",
                    read.is_ok(),
                    write.is_ok(),
                    dir.is_ok()
                ));
            }
            "socket" => {
                let tcp = std::net::TcpStream::connect("127.0.0.1:5432");
                let udp = std::net::UdpSocket::bind("0.0.0.0:0");
                host.info(&format!("tcp: {:?}; udp: {:?}", tcp.is_ok(), udp.is_ok()));
            }
            "env" => {
                let vars = std::env::vars().count();
                let args = std::env::args().count();
                let cwd = std::env::current_dir().is_ok();
                host.info(&format!("env vars: {vars}; args: {args}; cwd: {cwd}"));
            }
            "find-fields" => {
                // One granted field name, half a million times.
                let fields: Vec<&str> = vec!["Email"; 500_000];
                host.find("Lead", "Email", Value::Text("a@b.c".into()), &fields, 200)?;
            }
            "find-loop" => {
                for n in 0..990 {
                    host.find("Lead", "Email", Value::Text(format!("n{n}@example.com")), &[], 1)?;
                }
            }
            "huge-error" => return Err(MappingError::Other("e".repeat(8 << 20))),
            "fresh-memory" => {
                probe_fresh_memory()?;
                host.create(lead(0))?;
            }
            "ungranted" => {
                host.create(lead(0).set("Phone", "+1 555 0100"))?;
            }
            other => return Err(MappingError::Config(format!("unknown attack `{other}`"))),
        }
        Ok(())
    }
}

portico_sdk::export_mapper!(Hostile);
