//! HTTPS inspection (SPEC §8): the local CA, leaf certificates per host (cached), the TLS server
//! facing the client and the verifying TLS client facing the origin (ring provider only).

pub mod bundle;
pub mod ca;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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

/// Everything interception needs, built once.
pub struct Interceptor {
    ca: ca::Ca,
    leaves: Mutex<HashMap<String, Arc<ServerConfig>>>,
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
    pub fn server_config(&self, host: &str) -> Result<Arc<ServerConfig>> {
        if let Some(c) = self.leaves.lock().ok().and_then(|m| m.get(host).cloned()) {
            return Ok(c);
        }
        let config = Arc::new(self.build_server_config(host)?);
        if let Ok(mut m) = self.leaves.lock() {
            if m.len() >= LEAF_CACHE {
                m.clear();
            }
            m.insert(host.to_string(), config.clone());
        }
        Ok(config)
    }

    fn build_server_config(&self, host: &str) -> Result<ServerConfig> {
        let fail = |e: &dyn std::fmt::Display| {
            Error::runtime(format!("cannot make a certificate for {host}: {e}"))
        };
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| fail(&e))?;
        let mut params = CertificateParams::new(vec![host.to_string()]).map_err(|e| fail(&e))?;
        params.distinguished_name.push(DnType::CommonName, host);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let (y, m, d) = ca::today();
        params.not_before = rcgen::date_time_ymd(y - 1, m, d.min(28));
        params.not_after = rcgen::date_time_ymd(y + 1, m, d.min(28));
        let cert = params
            .signed_by(&key, &self.ca.issuer)
            .map_err(|e| fail(&e))?;
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing = provider::sign::any_supported_type(&private).map_err(|e| fail(&e))?;
        let certified = CertifiedKey::new(vec![cert.der().clone(), self.ca.der.clone()], signing);
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(provider::default_provider()))
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .map_err(|e| fail(&e))?
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(Fixed(Arc::new(certified))));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
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
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::runtime(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
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
