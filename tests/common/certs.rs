//! Certificates made in the test: a CA and a leaf for `app.example.com`
//! and 127.0.0.1 (rcgen, ECDSA P-256), written as PEM files.

/// A CA and a leaf for app.example.com and 127.0.0.1, signed by it (ECDSA
/// P-256), written as PEM: (dir, ca, cert, key).
pub fn certificates() -> (tempfile::TempDir, String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
    let ca_key = KeyPair::generate_for(alg).expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "ppctl test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let key = KeyPair::generate_for(alg).expect("key");
    let mut leaf =
        CertificateParams::new(vec!["app.example.com".to_string(), "127.0.0.1".to_string()])
            .expect("leaf params");
    leaf.distinguished_name
        .push(DnType::CommonName, "app.example.com");
    let cert = leaf
        .signed_by(&key, &ca_cert, &ca_key)
        .expect("leaf certificate");
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write PEM");
        p.to_string_lossy().into_owned()
    };
    let ca = write("ca.pem", ca_cert.pem());
    let cert = write("cert.pem", cert.pem());
    let key = write("key.pem", key.serialize_pem());
    (dir, ca, cert, key)
}
