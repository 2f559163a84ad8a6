//! A client/server handshake and a frame exchange with an fd, in memory,
//! printing every event: what a driver does, step by step.
//!
//! Run: `cargo run -p mon-ipc --example handshake`

use mon_ipc::pair::{Read, Wire};
use mon_ipc::{
    Ancillary, ClientAuth, ClientConfig, Decoder, Encoder, Handshake, Kind, ReadFlags, ServerAuth,
    ServerConfig, SocketCredentials, SocketKind, Step, Ucred,
};

/// A stand-in for an fd: the name of what it refers to.
type Fd = &'static str;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Drives one handshake side until it needs the other side or ends.
/// Returns the step it stopped at.
fn run<H: Handshake<Fd>>(
    name: &str,
    side: &mut H,
    inbox: &mut Wire<Fd>,
    outbox: &mut Wire<Fd>,
    me: Ucred,
) -> Step<H::Error> {
    let mut out = Vec::new();
    loop {
        let step = side.step(&mut out);
        match step {
            Step::Send(attach) => {
                println!("{name}: send {} with {attach:?}", hex(&out));
                outbox.send(&out, me, Vec::new());
                out.clear();
            }
            Step::NeedInput => match inbox.read(usize::MAX) {
                Read::Data(bytes, anc) => {
                    println!(
                        "{name}: read {} creds={:?} fds={:?}",
                        hex(&bytes),
                        anc.creds.map(|c| c.to_raw()),
                        anc.fds
                    );
                    let _ = side.receive(&bytes, anc);
                }
                Read::Eof => {
                    println!("{name}: read EOF");
                    let _ = side.receive_eof();
                }
                Read::WouldBlock => return step,
            },
            Step::Decide | Step::Done | Step::Failed(_) => return step,
        }
    }
}

fn main() {
    let client_id = Ucred::known(4242, 1000, 1000);
    let server_id = Ucred::known(1, 0, 0);
    let mut to_server = Wire::new(SocketKind::Stream);
    let mut to_client = Wire::new(SocketKind::Stream);
    // The server turned SO_PASSCRED on before the client could write; the
    // client did too, because it asks for mutual authentication.
    to_server.passcred = true;
    to_client.passcred = true;

    let config = ClientConfig {
        mutual: true,
        ..ClientConfig::default()
    };
    let mut client = ClientAuth::new(config, SocketCredentials::new(server_id));
    let mut server = ServerAuth::new(ServerConfig::default(), SocketCredentials::new(client_id));

    run(
        "client",
        &mut client,
        &mut to_client,
        &mut to_server,
        client_id,
    );
    let step = run(
        "server",
        &mut server,
        &mut to_server,
        &mut to_client,
        server_id,
    );
    assert_eq!(step, Step::Decide);
    let peer = server.peer().expect("a peer to decide on");
    println!(
        "server: decide on pid={:?} uid={:?} gid={:?} ({})",
        peer.pid(),
        peer.uid(),
        peer.gid(),
        peer.source.name()
    );
    server.accept().expect("a decision is pending");
    let step = run(
        "server",
        &mut server,
        &mut to_server,
        &mut to_client,
        server_id,
    );
    println!("server: {step:?}");
    let step = run(
        "client",
        &mut client,
        &mut to_client,
        &mut to_server,
        client_id,
    );
    println!("client: {step:?}");

    let client_end = client.finish().expect("client authenticated");
    let server_end = server.finish().expect("server authenticated");
    let server_seen = client_end.peer.as_ref().expect("mutual");
    println!(
        "client: server is uid {:?}, limits {:?}",
        server_seen.uid(),
        client_end.limits
    );
    to_server.passcred = false;
    to_client.passcred = false;

    // The channel: the client sends a frame with an fd.
    let mut enc = Encoder::<Fd>::new(client_end.limits, SocketKind::Stream);
    enc.push_copy(Kind::Data, b"here is a pipe", ["pipe read end"])
        .expect("within limits");
    loop {
        let mut slices = [&[][..]; 4];
        let Some(t) = enc.transmit(&mut slices) else {
            break;
        };
        let bytes: Vec<u8> = slices[..t.slices].concat();
        let mut fds = Vec::new();
        enc.advance_with(bytes.len(), |fd| fds.push(fd))
            .expect("sent what was offered");
        println!("client: sendmsg {} fds={fds:?}", hex(&bytes));
        to_server.send(&bytes, client_id, fds);
    }
    let mut dec = Decoder::<Fd>::new(server_end.limits, SocketKind::Stream);
    dec.receive_leftover(server_end.leftover)
        .expect("no leftover on the server");
    if let Read::Data(bytes, Ancillary { fds, .. }) = to_server.read(usize::MAX) {
        println!("server: recvmsg {} fds={fds:?}", hex(&bytes));
        dec.receive(&bytes, fds, ReadFlags::default())
            .expect("a well-formed frame");
    }
    while let Some(frame) = dec.next_frame().expect("a well-formed frame") {
        let fds: Vec<Fd> = frame.fds.collect();
        println!(
            "server: frame {:?} {:?} with fds {fds:?}",
            frame.kind,
            String::from_utf8_lossy(&frame.payload)
        );
    }
}
