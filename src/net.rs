//! What the server knows of the network it serves.

use std::net::{IpAddr, Ipv6Addr};

/// The key of a client address for limits: IPv4 addresses as they are, IPv6 by their /64 (one
/// subscriber holds a whole /64), IPv4-mapped ones as IPv4.
pub fn subscriber(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}
