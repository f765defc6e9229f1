//! The official account's inbound body: the platform's XML, and in safe mode the `Encrypt`
//! envelope and its AES ciphertext, as `chat::receive` takes them apart.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zizhi_fuzz::chat_crypto::SafeMode;
use zizhi_fuzz::chat_message::{self, Inbound, Message, Reply};
use zizhi_fuzz::{APP_ID, ENCODING_AES_KEY};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let safe = SafeMode::new(ENCODING_AES_KEY, APP_ID).expect("a valid key");

    if let Ok(msg) = chat_message::parse(text) {
        check_message(&msg);
    }

    // Safe mode: the envelope's Encrypt field, then its plaintext.
    if let Ok(encrypt) = chat_message::parse_envelope(text) {
        assert!(!encrypt.is_empty() && encrypt.trim() == encrypt);
        decrypt_and_parse(&safe, &encrypt);
    }
    decrypt_and_parse(&safe, text);

    // Anything the server encrypts, it decrypts to the same text, through the envelope too
    // (up to the 64 KiB `decrypt` accepts; the endpoint takes 16 KiB bodies).
    let encrypt = safe.encrypt(text);
    let envelope = chat_message::envelope_xml(&encrypt, "sig", "1700000000", "nonce");
    assert_eq!(
        chat_message::parse_envelope(&envelope).as_ref(),
        Ok(&encrypt)
    );
    if text.len() <= 64 * 1024 {
        assert_eq!(safe.decrypt(&encrypt).as_deref(), Ok(text));
    }
});

fn decrypt_and_parse(safe: &SafeMode, encrypt: &str) {
    if let Ok(xml) = safe.decrypt(encrypt) {
        // Only our key and AppID get here: the fuzzer can only replay seeds' ciphertexts.
        assert_eq!(safe.decrypt(&safe.encrypt(&xml)).as_ref(), Ok(&xml));
        if let Ok(msg) = chat_message::parse(&xml) {
            check_message(&msg);
        }
    }
}

fn check_message(msg: &Message) {
    let h = &msg.header;
    for field in [&h.to_user, &h.from_user] {
        assert!(!field.is_empty() && field.trim() == field);
    }
    if let Inbound::Text { content, .. } = &msg.body {
        assert!(content.chars().count() <= 2048);
    }
    // A retry is the same delivery.
    assert_eq!(msg.dedupe_key("f"), msg.clone().dedupe_key("f"));
    // A reply to this follower is itself well-formed platform XML that reads back as sent.
    let said = "已收到]]>\u{3000}<b>&amp;";
    let xml = Reply::Text(said.into())
        .to_xml(&h.from_user, &h.to_user, h.create_time)
        .expect("a text reply has XML");
    let back = chat_message::parse(&xml).expect("our reply parses");
    assert_eq!(back.header.to_user, h.from_user);
    assert_eq!(back.header.from_user, h.to_user);
    assert_eq!(back.header.create_time, h.create_time);
    assert!(matches!(back.body, Inbound::Text { content, .. } if content == said));
}
