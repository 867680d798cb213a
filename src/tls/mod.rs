//! HTTPS inspection (SPEC §8): the local CA, leaf certificates per host (cached), the TLS server
//! facing the client and the verifying TLS client facing the origin (ring provider only).

pub mod bundle;
pub mod ca;
pub mod trust;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair};
use rustls::crypto::ring as provider;
use rustls::server::ResolvesServerCert;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::{Error, Result};

/// Server configurations (one leaf each) kept at most.
pub const LEAF_CACHE: usize = 1024;

/// A leaf is valid from the day before it is issued to [`LEAF_DAYS`] days after (whole UTC
/// days, as rcgen writes dates): short-lived, so a leaf copied out of memory is soon useless.
pub const LEAF_DAYS: u64 = 7;

/// A cached leaf older than this is re-issued on its next use, long before it expires.
pub const LEAF_REISSUE: Duration = Duration::from_secs(2 * 86_400);

/// Everything interception needs, built once.
pub struct Interceptor {
    ca: ca::Ca,
    leaves: Mutex<HashMap<String, (SystemTime, Arc<ServerConfig>)>>,
    /// Verifies origins: system roots + `upstream_ca_file`.
    pub client: Arc<ClientConfig>,
}

struct Fixed(Arc<CertifiedKey>);

impl std::fmt::Debug for Fixed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fixed")
    }
}

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

impl Interceptor {
    /// Loads (or creates) the CA of `home_dir` and the upstream trust store.
    pub fn open(
        home_dir: &std::path::Path,
        upstream_ca_file: Option<&std::path::Path>,
    ) -> Result<Self> {
        let files = ca::CaFiles::of(home_dir);
        ca::init(&files)?;
        let ca = ca::load(&files)?;
        bundle::write(&files, &ca)?;
        let client = Arc::new(client_config(upstream_ca_file)?);
        Ok(Interceptor {
            ca,
            leaves: Mutex::new(HashMap::new()),
            client,
        })
    }

    /// SHA-256 of the CA certificate.
    pub fn fingerprint(&self) -> String {
        self.ca.fingerprint()
    }

    /// The TLS server configuration presenting a leaf for `host` (DNS name or IP literal).
    /// Leaves come from the cache until they are [`LEAF_REISSUE`] old.
    pub fn server_config(&self, host: &str) -> Result<Arc<ServerConfig>> {
        self.server_config_at(host, SystemTime::now())
    }

    fn server_config_at(&self, host: &str, now: SystemTime) -> Result<Arc<ServerConfig>> {
        let cached = self.leaves.lock().ok().and_then(|m| m.get(host).cloned());
        if let Some((issued, c)) = cached {
            if now
                .duration_since(issued)
                .is_ok_and(|age| age < LEAF_REISSUE)
            {
                return Ok(c);
            }
        }
        let config = Arc::new(self.build_server_config(host, now)?);
        if let Ok(mut m) = self.leaves.lock() {
            if m.len() >= LEAF_CACHE && !m.contains_key(host) {
                m.clear();
            }
            m.insert(host.to_string(), (now, config.clone()));
        }
        Ok(config)
    }

    fn build_server_config(&self, host: &str, now: SystemTime) -> Result<ServerConfig> {
        let fail = |e: &dyn std::fmt::Display| {
            Error::runtime(format!("cannot make a certificate for {host}: {e}"))
        };
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| fail(&e))?;
        let mut params = CertificateParams::new(vec![host.to_string()]).map_err(|e| fail(&e))?;
        params.distinguished_name.push(DnType::CommonName, host);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let day = Duration::from_secs(86_400);
        let (y, m, d) = ca::ymd(now - day);
        params.not_before = rcgen::date_time_ymd(y, m, d);
        let (y, m, d) = ca::ymd(now + day * LEAF_DAYS as u32);
        params.not_after = rcgen::date_time_ymd(y, m, d);
        let cert = params
            .signed_by(&key, &self.ca.issuer)
            .map_err(|e| fail(&e))?;
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing = provider::sign::any_supported_type(&private).map_err(|e| fail(&e))?;
        let certified = CertifiedKey::new(vec![cert.der().clone(), self.ca.der.clone()], signing);
        let mut config = ServerConfig::builder_with_provider(Arc::new(crypto_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| fail(&e))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Fixed(Arc::new(certified))));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        // Our order, not the client's: curl and Python over OpenSSL ask for AES-256 first.
        config.ignore_client_order = true;
        Ok(config)
    }
}

/// ring's cipher suites with AES-128-GCM ahead of AES-256-GCM, on both sides of an
/// interception. Every byte is decrypted and encrypted once more in Guardian, on the cores the
/// agent and its origins use; AES-128 has 10 rounds to AES-256's 14, and in the 256 MiB
/// intercepted download AES-GCM was 29% of Guardian's samples (README, Performance). Both are
/// TLS 1.3's own suites; Go's crypto/tls and the browsers rank AES-128 first as well. The set
/// is ring's default set, only reordered.
fn crypto_provider() -> rustls::crypto::CryptoProvider {
    use provider::cipher_suite::*;
    rustls::crypto::CryptoProvider {
        cipher_suites: vec![
            TLS13_AES_128_GCM_SHA256,
            TLS13_AES_256_GCM_SHA384,
            TLS13_CHACHA20_POLY1305_SHA256,
            TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ],
        ..provider::default_provider()
    }
}

fn client_config(upstream_ca_file: Option<&std::path::Path>) -> Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = upstream_ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| {
                Error::usage(format!(
                    "config key \"upstream_ca_file\": cannot read {}: {e}",
                    path.display()
                ))
            })?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| {
                Error::usage(format!(
                    "config key \"upstream_ca_file\": {} is not PEM: {e}",
                    path.display()
                ))
            })?;
        if certs.is_empty() {
            return Err(Error::usage(format!(
                "config key \"upstream_ca_file\": {} holds no certificate",
                path.display()
            )));
        }
        roots.add_parsable_certificates(certs);
    }
    let mut config = ClientConfig::builder_with_provider(Arc::new(crypto_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::runtime(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod leaves {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    #[test]
    fn cached_leaves_are_reissued_before_they_expire() {
        let dir = tempfile::tempdir().expect("tempdir");
        crate::home::ensure_private_dir(dir.path()).expect("home");
        let i = super::Interceptor::open(dir.path(), None).expect("interceptor");
        let t0 = SystemTime::now();
        let first = i.server_config_at("a.example", t0).expect("leaf");
        let hour = Duration::from_secs(3600);
        let again = i.server_config_at("a.example", t0 + hour).expect("cached");
        assert!(
            Arc::ptr_eq(&first, &again),
            "an hour later the cached leaf serves"
        );
        let later = i
            .server_config_at("a.example", t0 + super::LEAF_REISSUE + hour)
            .expect("reissued");
        assert!(!Arc::ptr_eq(&first, &later), "an old leaf is re-issued");
        // The re-issued one is cached in turn.
        let after = i
            .server_config_at("a.example", t0 + super::LEAF_REISSUE + hour * 2)
            .expect("cached");
        assert!(Arc::ptr_eq(&later, &after));
    }

    /// Hands what `from` has to send to `to`, which processes it.
    fn pass(from: &mut rustls::Connection, to: &mut rustls::Connection) {
        let mut wire = Vec::new();
        from.write_tls(&mut wire).expect("written");
        let mut read = &wire[..];
        while !read.is_empty() {
            to.read_tls(&mut read).expect("read");
        }
        to.process_new_packets().expect("accepted");
    }

    /// Drives a handshake between two in-memory connections.
    fn handshake(client: &mut rustls::Connection, server: &mut rustls::Connection) {
        for _ in 0..16 {
            pass(client, server);
            pass(server, client);
            if !client.is_handshaking() && !server.is_handshaking() {
                return;
            }
        }
        panic!("the handshake did not finish");
    }

    #[test]
    fn both_sides_of_an_interception_agree_on_aes_128_gcm() {
        use rustls::crypto::ring::cipher_suite::{
            TLS13_AES_128_GCM_SHA256, TLS13_AES_256_GCM_SHA384,
        };
        use rustls_pki_types::pem::PemObject;
        let dir = tempfile::tempdir().expect("tempdir");
        crate::home::ensure_private_dir(dir.path()).expect("home");
        let i = super::Interceptor::open(dir.path(), None).expect("interceptor");
        let server_config = i.server_config("a.example").expect("leaf");
        // A client that asks for AES-256 first, as curl and Python over OpenSSL do.
        let mut roots = rustls::RootCertStore::empty();
        let ca = std::fs::read(crate::tls::ca::CaFiles::of(dir.path()).cert()).expect("ca");
        for cert in <rustls_pki_types::CertificateDer as PemObject>::pem_slice_iter(&ca) {
            roots.add(cert.expect("pem")).expect("root");
        }
        let mut provider = rustls::crypto::ring::default_provider();
        provider.cipher_suites = vec![TLS13_AES_256_GCM_SHA384, TLS13_AES_128_GCM_SHA256];
        let client_config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls_pki_types::ServerName::try_from("a.example").expect("name");
        let client = rustls::ClientConnection::new(Arc::new(client_config), name).expect("client");
        let mut client = rustls::Connection::from(client);
        let server = rustls::ServerConnection::new(server_config).expect("server");
        let mut server = rustls::Connection::from(server);
        handshake(&mut client, &mut server);
        let suite = server.negotiated_cipher_suite().expect("suite").suite();
        assert_eq!(
            suite,
            TLS13_AES_128_GCM_SHA256.suite(),
            "the client's order is overridden"
        );
        // Towards the origin Guardian offers AES-128 first, in TLS 1.3 and 1.2.
        let upstream = super::client_config(None).expect("client config");
        let offered: Vec<_> = upstream
            .crypto_provider()
            .cipher_suites
            .iter()
            .map(|s| s.suite())
            .collect();
        assert_eq!(offered[0], TLS13_AES_128_GCM_SHA256.suite());
        assert_eq!(
            offered[3],
            rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        );
    }
}

#[cfg(test)]
mod timing {
    /// Prints how long a first leaf for a new host takes (a measurement, not an assertion).
    #[test]
    #[ignore]
    fn first_leaf_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        crate::home::ensure_private_dir(dir.path()).expect("home");
        let i = super::Interceptor::open(dir.path(), None).expect("interceptor");
        let n = 200;
        let start = std::time::Instant::now();
        for k in 0..n {
            i.server_config(&format!("host{k}.example")).expect("leaf");
        }
        eprintln!(
            "first leaf for a new host: {:.2} ms on average over {n}",
            start.elapsed().as_secs_f64() * 1000.0 / n as f64
        );
        let start = std::time::Instant::now();
        for _ in 0..10_000 {
            i.server_config("host1.example").expect("cached");
        }
        eprintln!(
            "cached leaf lookup: {:.2} µs",
            start.elapsed().as_secs_f64() * 1e6 / 10_000.0
        );
    }
}
