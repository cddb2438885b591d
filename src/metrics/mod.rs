//! Serving metrics over HTTP: the one small server (hyper, HTTP/1.1) that
//! `probe --serve` answers scrapes with, and that `listen --metrics` and
//! `relay --metrics` are to use (issue 24). The caller routes a request to
//! a response; this module binds nothing (the caller hands it bound
//! listeners), accepts within bounds, and stops when told. The metrics
//! themselves are `prometheus-client` types owned by whoever counts;
//! `report::metrics` renders them in the Prometheus text format.

pub(crate) mod http;
