//! The listener's places per peer address: one address (a slowloris client, a flood of
//! idle sockets) holds at most [`PER_PEER`] of the listener's connections at once, so
//! the others stay free for probes, scrapes, deliveries and the approval page.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Connections one peer address may hold at once: a quarter of the listener's 64.
/// Behind a reverse proxy every connection comes from the proxy's address; 16 answers
/// in flight at once is far above what a phone's page and a team's deliveries ask.
pub(crate) const PER_PEER: usize = 16;

/// What a connection past its address's [`PER_PEER`] is told before it is closed.
pub(crate) const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: text/plain\r\nContent-Length: 49\r\nRetry-After: 2\r\nConnection: close\r\n\r\n\
too many connections from one address; try again\n";

/// The connections each address holds now.
#[derive(Clone, Default)]
pub(crate) struct Peers(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One connection's place, given back when it is dropped.
pub(crate) struct Held {
    peers: Peers,
    ip: IpAddr,
}

impl Peers {
    /// A place for a connection from `ip`, or `None` when it holds [`PER_PEER`] already.
    pub(crate) fn hold(&self, ip: IpAddr) -> Option<Held> {
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = held.entry(ip).or_default();
        if *n >= PER_PEER {
            return None;
        }
        *n += 1;
        Some(Held {
            peers: self.clone(),
            ip,
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut held = self.peers.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = held.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_share_and_gets_each_place_back() {
        let peers = Peers::default();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let mut held: Vec<Held> = (0..PER_PEER).map(|_| peers.hold(a).unwrap()).collect();
        assert!(peers.hold(a).is_none());
        assert!(peers.hold(b).is_some(), "another address is not refused");
        held.pop();
        assert!(peers.hold(a).is_some());
        drop(held);
        assert!(peers.0.lock().unwrap().is_empty(), "no address left behind");
    }

    #[test]
    fn the_busy_answer_says_its_length() {
        let text = std::str::from_utf8(BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
    }
}
