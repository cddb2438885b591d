//! Built-in sample inputs for `inspect --sample`, so a new user sees what
//! ppctl shows without having bytes at hand.

/// (name, description, bytes as hex).
pub const SAMPLES: &[(&str, &str, &str)] = &[
    (
        "v1",
        "a v1 TCP4 header followed by an HTTP request",
        "50524f58592054435034203139322e3136382e302e31203139322e3136382e302e3131203536333234203434330d0a474554202f20485454502f312e310d0a486f73743a206578616d706c652e636f6d0d0a0d0a",
    ),
    (
        "v2",
        "a v2 TCP4 header with ALPN, AUTHORITY, UNIQUE_ID and CRC32C TLVs",
        "0d0a0d0a000d0a515549540a21110039c0a80001c0a8000bdc0401bb010002683202000b6578616d706c652e636f6d05001000112233445566778899aabbccddeeff03000426edbe5c",
    ),
    (
        "aws-nlb",
        "what an AWS NLB sends for a PrivateLink connection (v2 + VPC endpoint id)",
        "0d0a0d0a000d0a515549540a21110026ac1f0771ac1f0a1f9daa0050ea001701767063652d3038643262663135666163353030316339",
    ),
    (
        "health-check",
        "a v2 LOCAL header, as load balancers send for health checks",
        "0d0a0d0a000d0a515549540a20000000",
    ),
    (
        "broken",
        "a v1 line ending in a bare LF (printf without \\r)",
        "50524f58592054435034203139322e3136382e302e31203139322e3136382e302e3131203536333234203434330a",
    ),
    (
        "http",
        "a plain HTTP request: what a receiver expecting a header gets from a client that skipped the LB",
        "474554202f20485454502f312e310d0a486f73743a206578616d706c652e636f6d0d0a0d0a",
    ),
];

/// Names of the samples, for help and errors.
pub(crate) fn names() -> Vec<&'static str> {
    SAMPLES.iter().map(|s| s.0).collect()
}

/// The bytes of sample `name`.
pub(crate) fn get(name: &str) -> Option<Vec<u8>> {
    SAMPLES
        .iter()
        .find(|s| s.0 == name)
        .and_then(|s| hex::decode(s.2).ok())
}
