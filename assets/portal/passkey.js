// The passkey (WebAuthn) ceremony for the portal and console: the only script these pages
// load. A form marked data-passkey="create" (register a key) or "get" (sign in, or approve a
// usage copy) is sent in two steps: its fields go to data-begin, which answers the options
// for the authenticator; the authenticator's answer goes, with the same fields, to
// data-finish, which answers where to go next. Everything else on the pages works without
// JavaScript.
(function () {
  "use strict";
  function toBytes(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toText(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = toBytes(pk.challenge);
    pk.user.id = toBytes(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return { publicKey: pk };
  }
  function requestOptions(o) {
    var pk = o.publicKey;
    pk.challenge = toBytes(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return { publicKey: pk };
  }
  function created(c) {
    return {
      id: c.id, rawId: toText(c.rawId), type: c.type,
      extensions: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: {
        attestationObject: toText(c.response.attestationObject),
        clientDataJSON: toText(c.response.clientDataJSON),
        transports: c.response.getTransports ? c.response.getTransports() : undefined
      }
    };
  }
  function asserted(c) {
    return {
      id: c.id, rawId: toText(c.rawId), type: c.type,
      extensions: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: {
        authenticatorData: toText(c.response.authenticatorData),
        clientDataJSON: toText(c.response.clientDataJSON),
        signature: toText(c.response.signature),
        userHandle: c.response.userHandle ? toText(c.response.userHandle) : null
      }
    };
  }
  function post(url, params) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/x-www-form-urlencoded", "accept": "application/json" },
      body: params
    }).then(function (r) {
      return r.json().catch(function () { return { error: "bad_answer", message: "服务器应答异常（" + r.status + "），请稍后重试" }; });
    });
  }
  function show(form, message) {
    var box = form.querySelector("[data-passkey-error]");
    if (box) { box.textContent = message; box.className = "notice bad error-box shown"; }
  }
  function run(form, ev) {
    ev.preventDefault();
    if (!window.PublicKeyCredential) {
      show(form, "此浏览器不支持通行密钥（WebAuthn），请使用新版 Chrome、Edge、Safari 或 Firefox。");
      return;
    }
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    var mode = form.getAttribute("data-passkey");
    var fields = new URLSearchParams(new FormData(form));
    post(form.getAttribute("data-begin"), fields).then(function (start) {
      if (!start.ceremony) throw start;
      var call = mode === "create"
        ? navigator.credentials.create(creationOptions(start.options)).then(created)
        : navigator.credentials.get(requestOptions(start.options)).then(asserted);
      return call.then(function (credential) {
        var finish = new URLSearchParams(new FormData(form));
        finish.set("ceremony", start.ceremony);
        finish.set("credential", JSON.stringify(credential));
        return post(form.getAttribute("data-finish"), finish);
      });
    }).then(function (done) {
      if (done && done.redirect) { window.location.assign(done.redirect); return; }
      throw done;
    }).catch(function (e) {
      var message = e && e.message ? e.message : "操作未完成，请重试";
      if (e && e.name === "NotAllowedError") message = "已取消，或通行密钥未能验证您的身份（PIN 或指纹）";
      show(form, message);
      if (button) button.disabled = false;
    });
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form && form.hasAttribute && form.hasAttribute("data-passkey")) run(form, ev);
  });
})();
