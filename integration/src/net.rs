use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

/// `127.0.0.<host>:<port>`. Tests give every peer its own `host` so that each one looks
/// like a separate machine (Linux routes all of 127.0.0.0/8 to `lo`). Port 0 asks the
/// process for any free port; the guards report the port actually bound.
pub fn lo(host: u8, port: u16) -> SocketAddr {
    assert!(
        host != 0 && host != 255,
        "127.0.0.{host} is not a usable host address"
    );
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)), port)
}

/// A port that is currently free for both TCP and UDP on `ip` (which must be loopback).
///
/// The kernel picks it (bind to port 0), so parallel test processes do not collide; the
/// port is released before returning, so prefer handing port 0 to a process that reports
/// its bound port when it can.
pub fn free_port(ip: IpAddr) -> u16 {
    assert!(ip.is_loopback(), "refusing non-loopback address {ip}");
    for _ in 0..50 {
        let tcp = TcpListener::bind((ip, 0)).expect("bind a loopback TCP port");
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind((ip, port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both TCP and UDP on {ip}");
}
