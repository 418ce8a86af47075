//! Object identifiers used by Authenticode, CMS, X.509 and RFC 3161, as dotted text.
#![allow(missing_docs)]

pub const RSA: &str = "1.2.840.113549.1.1.1";
pub const MD5_RSA: &str = "1.2.840.113549.1.1.4";
pub const SHA1_RSA: &str = "1.2.840.113549.1.1.5";
pub const SHA256_RSA: &str = "1.2.840.113549.1.1.11";
pub const SHA384_RSA: &str = "1.2.840.113549.1.1.12";
pub const SHA512_RSA: &str = "1.2.840.113549.1.1.13";
pub const SHA224_RSA: &str = "1.2.840.113549.1.1.14";
pub const SHA1_RSA_OIW: &str = "1.3.14.3.2.29";
pub const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
pub const ECDSA_SHA1: &str = "1.2.840.10045.4.1";
pub const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
pub const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
pub const ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";
pub const P256: &str = "1.2.840.10045.3.1.7";
pub const P384: &str = "1.3.132.0.34";

pub const MD5: &str = "1.2.840.113549.2.5";
pub const SHA1: &str = "1.3.14.3.2.26";
pub const SHA256: &str = "2.16.840.1.101.3.4.2.1";
pub const SHA384: &str = "2.16.840.1.101.3.4.2.2";
pub const SHA512: &str = "2.16.840.1.101.3.4.2.3";
pub const SHA224: &str = "2.16.840.1.101.3.4.2.4";

pub const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
pub const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
pub const SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
pub const COUNTER_SIGNATURE: &str = "1.2.840.113549.1.9.6";
pub const TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";

pub const SPC_INDIRECT_DATA: &str = "1.3.6.1.4.1.311.2.1.4";
pub const SPC_NESTED_SIGNATURE: &str = "1.3.6.1.4.1.311.2.4.1";
pub const MS_RFC3161_TIMESTAMP: &str = "1.3.6.1.4.1.311.3.3.1";
pub const CTL: &str = "1.3.6.1.4.1.311.10.1";
pub const CAT_NAMEVALUE: &str = "1.3.6.1.4.1.311.12.2.2";
pub const LIFETIME_SIGNING: &str = "1.3.6.1.4.1.311.10.3.13";

pub const EXT_SUBJECT_KEY_ID: &str = "2.5.29.14";
pub const EXT_KEY_USAGE: &str = "2.5.29.15";
pub const EXT_BASIC_CONSTRAINTS: &str = "2.5.29.19";
pub const EXT_EXT_KEY_USAGE: &str = "2.5.29.37";
pub const ANY_EKU: &str = "2.5.29.37.0";
pub const EKU_CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";
pub const EKU_TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";

pub const AT_CN: &str = "2.5.4.3";
pub const AT_C: &str = "2.5.4.6";
pub const AT_L: &str = "2.5.4.7";
pub const AT_ST: &str = "2.5.4.8";
pub const AT_O: &str = "2.5.4.10";
pub const AT_OU: &str = "2.5.4.11";
pub const AT_EMAIL: &str = "1.2.840.113549.1.9.1";
pub const AT_DC: &str = "0.9.2342.19200300.100.1.25";
