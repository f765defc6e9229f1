//! The CMS `SignedData` inside a PAdES signature (ETSI EN 319 142-1, baseline B-B):
//! detached content, SHA-256, ECDSA P-256, signed attributes content-type, message-digest and
//! signing-certificate-v2 (RFC 5035). No signing-time attribute: PAdES takes the time from the
//! signature dictionary's `/M` and forbids the attribute.
//!
//! Built directly on the `cms` and `x509-cert` types rather than `cms`'s builder, which always
//! adds a signing-time attribute.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier,
    SignerInfo, SignerInfos,
};
use const_oid::db::{rfc5911, rfc5912};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use p256::ecdsa::DerSignature;
use p256::ecdsa::signature::Signer as _;
use sha2::{Digest, Sha256};
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::DocumentError;
use crate::pki::Signer;

/// RFC 5035 `ESSCertIDv2`; `hashAlgorithm` is left out because SHA-256 is its DEFAULT, which
/// DER requires to be omitted.
#[derive(Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

/// RFC 5035 `IssuerSerial`.
#[derive(Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// RFC 5035 `SigningCertificateV2` (no policies).
#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

fn bad(e: impl std::fmt::Display) -> DocumentError {
    DocumentError::Cms(e.to_string())
}

fn attribute(oid: const_oid::ObjectIdentifier, value: Any) -> Result<Attribute, DocumentError> {
    let mut values = SetOfVec::new();
    values.insert(value).map_err(bad)?;
    Ok(Attribute { oid, values })
}

fn any_of(value: &impl Encode) -> Result<Any, DocumentError> {
    Any::from_der(&value.to_der().map_err(bad)?).map_err(bad)
}

fn sha256_id() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: rfc5912::ID_SHA_256,
        parameters: None,
    }
}

/// A DER `ContentInfo` holding a detached `SignedData` over content whose SHA-256 is `digest`.
pub fn signed_data(signer: &Signer, digest: &[u8; 32]) -> Result<Vec<u8>, DocumentError> {
    let cert = signer.certificate();
    let cert_der = cert.to_der().map_err(bad)?;
    let tbs = &cert.tbs_certificate;

    let signing_certificate = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(Sha256::digest(&cert_der).to_vec()).map_err(bad)?,
            issuer_serial: IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(tbs.issuer.clone())],
                serial_number: tbs.serial_number.clone(),
            },
        }],
    };
    let mut attrs: SignedAttributes = SetOfVec::new();
    attrs
        .insert(attribute(
            rfc5911::ID_CONTENT_TYPE,
            any_of(&rfc5911::ID_DATA)?,
        )?)
        .map_err(bad)?;
    attrs
        .insert(attribute(
            rfc5911::ID_MESSAGE_DIGEST,
            any_of(&OctetString::new(digest.to_vec()).map_err(bad)?)?,
        )?)
        .map_err(bad)?;
    attrs
        .insert(attribute(
            rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2,
            any_of(&signing_certificate)?,
        )?)
        .map_err(bad)?;

    // The signature covers the DER of the attributes as a SET OF (tag 0x31), not as the
    // [0] IMPLICIT field they are stored in (RFC 5652 §5.4).
    let to_sign = attrs.to_der().map_err(bad)?;
    let signature: DerSignature = signer.key().sign(&to_sign);

    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        }),
        digest_alg: sha256_id(),
        signed_attrs: Some(attrs),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: rfc5912::ECDSA_WITH_SHA_256,
            parameters: None,
        },
        signature: OctetString::new(signature.as_bytes().to_vec()).map_err(bad)?,
        unsigned_attrs: None,
    };

    let mut certificates = SetOfVec::new();
    for c in signer.chain() {
        certificates
            .insert(CertificateChoices::Certificate(c.clone()))
            .map_err(bad)?;
    }
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(sha256_id()).map_err(bad)?;
    let mut signer_infos = SetOfVec::new();
    signer_infos.insert(signer_info).map_err(bad)?;

    let signed = SignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: rfc5911::ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(certificates)),
        crls: None,
        signer_infos: SignerInfos(signer_infos),
    };
    ContentInfo {
        content_type: rfc5911::ID_SIGNED_DATA,
        content: any_of(&signed)?,
    }
    .to_der()
    .map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Role, Subject};
    use chrono::{Duration, Utc};
    use p256::ecdsa::signature::Verifier;

    #[test]
    fn signed_attributes_verify_with_the_certificate_key_and_carry_the_digest() {
        let now = Utc::now();
        let subject = Subject {
            common_name: "测试根证书",
            organization: "测试",
            credit_code: None,
        };
        let root = Signer::new_root(&subject, now, now + Duration::days(30)).unwrap();
        let leaf = root
            .issue(
                &Subject {
                    common_name: "上海某建设有限公司",
                    organization: "上海某建设有限公司",
                    credit_code: Some("91310000132149237G"),
                },
                Role::DocumentSigner,
                now,
                now + Duration::days(10),
            )
            .unwrap();
        let digest: [u8; 32] = Sha256::digest(b"content").into();
        let der = signed_data(&leaf, &digest).unwrap();

        let info = ContentInfo::from_der(&der).unwrap();
        let sd: SignedData = info.content.decode_as().unwrap();
        let si = sd.signer_infos.0.iter().next().unwrap();
        let attrs = si.signed_attrs.as_ref().unwrap();
        assert_eq!(
            attrs.len(),
            3,
            "content type, digest, signing certificate v2"
        );
        let md = attrs
            .iter()
            .find(|a| a.oid == rfc5911::ID_MESSAGE_DIGEST)
            .unwrap();
        let md: OctetString = md.values.iter().next().unwrap().decode_as().unwrap();
        assert_eq!(md.as_bytes(), digest);

        let sig = p256::ecdsa::DerSignature::from_bytes(si.signature.as_bytes()).unwrap();
        let vk = leaf.key().verifying_key();
        vk.verify(&attrs.to_der().unwrap(), &sig).unwrap();
        assert_eq!(sd.certificates.unwrap().0.len(), 2, "leaf and root");
    }
}
