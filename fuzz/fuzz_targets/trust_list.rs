//! The signed trust list as the app takes it: the server's JSON response opened with the
//! pinned root key (`zizhi_app::sync`), and the list's CBOR decoder behind the signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zizhi_app::sync::{accept_trust_list, open_trust_list};
use zizhi_fuzz::{now, pin, published, root, root_key, trust_list};
use zizhi_shared::{SignedTrustList, TrustList};

fuzz_target!(|data: &[u8]| {
    // The input as the signed bytes of a trust list the server published.
    match accept_trust_list(&published(data), pin(), None, now()) {
        Ok((list, stored)) => {
            // Only the root's own signature opens: re-signing the list gives the same bytes.
            assert_eq!(list.sign(root()).as_bytes(), data);
            assert_eq!(stored.open(pin()).as_ref(), Ok(&list));
            // Held against a list, only one at least as new is taken.
            let held = trust_list();
            let again = accept_trust_list(&published(data), pin(), Some(held), now());
            assert_eq!(again.is_ok(), list.issued_at >= held.issued_at);
        }
        Err(e) => {
            assert!(open_trust_list(data.to_vec(), pin()).is_err());
            assert!(!e.code().is_empty());
        }
    }
    let _ = SignedTrustList::from_bytes(data.to_vec()).root_kid();

    // The input as the list's CBOR, which a forger cannot get signed by the root.
    if let Ok(list) = TrustList::from_cbor(data) {
        assert_eq!(list.to_cbor(), data, "one encoding per list");
        list.validate().expect("a decoded list is valid");
        let signed = list.sign(root());
        assert_eq!(signed.open(&root_key()).as_ref(), Ok(&list));
        let opened = open_trust_list(signed.into_bytes(), pin()).expect("signed by the pin");
        assert_eq!(opened, list);
        for k in &list.keys {
            assert_eq!(list.find(&k.kid), Some(k), "kids are unique");
        }
    }
});
