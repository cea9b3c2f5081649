//! TLS for the command line's PostgreSQL connections, on rustls (no system library; library users who connect
//! themselves never compile it). `sslmode` and `sslrootcert` mean what they mean to libpq:
//!
//! - `disable`: no TLS; `prefer` (the default): TLS if the server offers it, the certificate not checked;
//! - `require`: TLS or no connection, the certificate not checked, unless `sslrootcert` is given, which makes it
//!   `verify-ca`, as in libpq;
//! - `verify-ca`: the certificate must chain to `sslrootcert` (or the system's roots); `verify-full`: and name the
//!   host connected to.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error as TlsError, RootCertStore, SignatureScheme};

use crate::failure::Failure;

/// `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS if the server offers it; the certificate is not checked.
    Prefer,
    /// TLS, the certificate not checked (checked against `sslrootcert` if one is given).
    Require,
    /// TLS, the certificate must chain to a trusted root.
    VerifyCa,
    /// TLS, the certificate must chain to a trusted root and name the host.
    VerifyFull,
}

impl SslMode {
    /// The mode the mysql client calls `text`, in any case.
    pub fn from_mysql(text: &str) -> Option<SslMode> {
        Some(match text.to_ascii_uppercase().as_str() {
            "DISABLED" => SslMode::Disable,
            "PREFERRED" => SslMode::Prefer,
            "REQUIRED" => SslMode::Require,
            "VERIFY_CA" => SslMode::VerifyCa,
            "VERIFY_IDENTITY" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// The mode libpq calls `text` (`allow` is read as `prefer`).
    pub fn from_libpq(text: &str) -> Option<SslMode> {
        Some(match text {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

/// The TLS settings of a connection: libpq's `sslmode`/`sslrootcert`, or the mysql client's `ssl-mode`/`ssl-ca`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    /// `sslmode`; `None` means the default, `prefer`.
    pub mode: Option<SslMode>,
    /// `sslrootcert`: PEM file of the roots to trust (`system` for the system's).
    pub root: Option<PathBuf>,
}

/// Where one client's URLs keep their TLS parameters, and how it names its modes.
struct Dialect {
    mode_keys: &'static [&'static str],
    root_keys: &'static [&'static str],
    parse: fn(&str) -> Option<SslMode>,
    modes: &'static str,
}

const LIBPQ: Dialect = Dialect {
    mode_keys: &["sslmode"],
    root_keys: &["sslrootcert"],
    parse: SslMode::from_libpq,
    modes: "disable, prefer, require, verify-ca, verify-full",
};

const MYSQL: Dialect = Dialect {
    mode_keys: &["ssl-mode", "ssl_mode"],
    root_keys: &["ssl-ca", "ssl_ca"],
    parse: SslMode::from_mysql,
    modes: "DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY",
};

/// Takes the TLS parameters of `dialect` out of `raw`'s query, returning the URL without them and what they said.
fn split_url(raw: &str, dialect: &Dialect) -> Result<(String, Tls), String> {
    let Some((base, query)) = raw.split_once('?') else { return Ok((raw.to_owned(), Tls::default())) };
    let mut tls = Tls::default();
    let mut kept = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if dialect.mode_keys.contains(&key) {
            let mode =
                (dialect.parse)(value).ok_or_else(|| format!("{key}={value} is not one of {}", dialect.modes))?;
            tls.mode = Some(mode);
        } else if dialect.root_keys.contains(&key) {
            tls.root = Some(PathBuf::from(percent_decoded(value)));
        } else {
            kept.push(pair);
        }
    }
    let url = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok((url, tls))
}

/// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL's query (the client library knows only some of the
/// modes), returning the URL without them and what they said.
///
/// # Errors
/// An `sslmode` that is not one of libpq's.
pub fn split_pg_url(raw: &str) -> Result<(String, Tls), String> {
    split_url(raw, &LIBPQ)
}

/// Takes MySQL's `ssl-mode` and `ssl-ca` out of a `mysql://` URL's query, read as the mysql client reads them
/// (`DISABLED`, `PREFERRED`, `REQUIRED`, `VERIFY_CA`, `VERIFY_IDENTITY`), as the modes above.
///
/// # Errors
/// An `ssl-mode` that is not one of the client's.
pub fn split_mysql_url(raw: &str) -> Result<(String, Tls), String> {
    split_url(raw, &MYSQL)
}

fn percent_decoded(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

impl Tls {
    /// The settings with the flags' values put over the URL's.
    pub fn overridden(mut self, mode: Option<SslMode>, root: Option<&Path>) -> Tls {
        if let Some(mode) = mode {
            self.mode = Some(mode);
        }
        if let Some(root) = root {
            self.root = Some(root.to_owned());
        }
        self
    }

    /// The mode in effect: the default is `prefer`, and `require` with a root file is `verify-ca`.
    pub fn effective(&self) -> SslMode {
        match (self.mode.unwrap_or(SslMode::Prefer), &self.root) {
            (SslMode::Require, Some(_)) => SslMode::VerifyCa,
            (mode, _) => mode,
        }
    }

    /// The rustls connector for these settings, or `None` for `disable`.
    ///
    /// # Errors
    /// A root file that cannot be read or holds no certificate.
    pub fn connector(&self) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>, Failure> {
        // ring, deprecated from rustls 0.23.48 for lacking post-quantum key exchange, is kept on purpose: it builds
        // with nothing but a C compiler, where aws-lc-rs (which has it) also needs CMake on a user's machine.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match self.effective() {
            SslMode::Disable => return Ok(None),
            SslMode::Prefer | SslMode::Require => Arc::new(Unchecked(provider.clone())),
            mode => {
                let roots = Arc::new(self.roots()?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| Failure::usage(format!("cannot use the TLS roots: {e}"), None))?;
                if mode == SslMode::VerifyCa {
                    Arc::new(AnyName(webpki))
                } else {
                    webpki
                }
            }
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Failure::usage(format!("cannot set up TLS: {e}"), None))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(config)))
    }

    fn roots(&self) -> Result<RootCertStore, Failure> {
        let mut store = RootCertStore::empty();
        let path = match self.root.as_deref() {
            Some(path) if path != Path::new("system") => path,
            _ => {
                let found = rustls_native_certs::load_native_certs();
                store.add_parsable_certificates(found.certs);
                if store.is_empty() {
                    return Err(Failure::usage(
                        "sslmode verify-ca/verify-full: no system root certificate was found",
                        Some("name the CA's certificate with sslrootcert=<file> or --sslrootcert".to_owned()),
                    ));
                }
                return Ok(store);
            }
        };
        let bad = |why: String| {
            Failure::usage(
                format!("sslrootcert {}: {why}", path.display()),
                Some("name a PEM file with the CA's certificate".to_owned()),
            )
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?;
        let (added, _) = store.add_parsable_certificates(certs);
        if added == 0 {
            return Err(bad("holds no certificate".to_owned()));
        }
        Ok(store)
    }
}

/// `prefer` and `require`: encrypted, the certificate not checked (libpq's meaning), its signatures still verified.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain is checked, the host name is not.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

impl Tls {
    /// MySQL's TLS options for these settings (`None`: a plain connection). Unset means a plain connection, as
    /// before TLS existed here; `prefer` tries TLS and falls back (see [`Tls::mysql_fallback`]).
    pub fn mysql_options(&self) -> Option<mysql::SslOpts> {
        let root = self.root.clone().filter(|r| r != Path::new("system"));
        let opts = mysql::SslOpts::default();
        match (self.mode, self.effective()) {
            (None, _) | (_, SslMode::Disable) => None,
            (_, SslMode::Prefer | SslMode::Require) => Some(opts.with_danger_accept_invalid_certs(true)),
            (_, SslMode::VerifyCa) => Some(opts.with_root_cert_path(root).with_danger_skip_domain_validation(true)),
            (_, SslMode::VerifyFull) => Some(opts.with_root_cert_path(root)),
        }
    }

    /// `prefer`: a server without TLS is connected to in plain text.
    pub fn mysql_fallback(&self) -> bool {
        self.mode == Some(SslMode::Prefer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_parameters_are_taken_out_of_the_url() {
        let (url, tls) =
            split_pg_url("postgres://u@h/db?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem")
                .unwrap();
        assert_eq!(url, "postgres://u@h/db?application_name=x");
        assert_eq!(tls, Tls { mode: Some(SslMode::VerifyFull), root: Some("/etc/ca.pem".into()) });
        assert_eq!(split_pg_url("postgres://u@h/db").unwrap().1.effective(), SslMode::Prefer);
        let require_with_root = Tls { mode: Some(SslMode::Require), root: Some("ca.pem".into()) };
        assert_eq!(require_with_root.effective(), SslMode::VerifyCa);
        assert!(split_pg_url("postgres://u@h/db?sslmode=sometimes").is_err());
        let (url, tls) =
            split_mysql_url("mysql://u@h/db?ssl-mode=VERIFY_IDENTITY&ssl-ca=ca.pem&prefer_socket=false").unwrap();
        assert_eq!(url, "mysql://u@h/db?prefer_socket=false");
        assert_eq!(tls, Tls { mode: Some(SslMode::VerifyFull), root: Some("ca.pem".into()) });
    }
}
