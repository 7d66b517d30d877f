// Brazen console: small progressive enhancements. Every page works
// without this file; it adds select-all per permission group, checks of
// allowlist entries as they are typed, and copy buttons.
(function () {
  "use strict";

  // Select all / none in a permission group, and keep the box in step.
  document.querySelectorAll("[data-group]").forEach(function (group) {
    var all = group.querySelector("[data-select-all]");
    all.closest("label").hidden = false; // it needs this script to work
    var boxes = group.querySelectorAll("input[name=permissions]");
    function sync() {
      var n = 0;
      boxes.forEach(function (b) { if (b.checked) n++; });
      all.checked = n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
      sync();
    });
    boxes.forEach(function (b) { b.addEventListener("change", sync); });
    sync();
  });

  // IPv4/IPv6 addresses and CIDR subnets, one per line. The server checks
  // again on submit; this only says early what it would refuse.
  function validIPv4(s) {
    var p = s.split(".");
    return p.length === 4 && p.every(function (x) { return /^(0|[1-9]\d{0,2})$/.test(x) && +x <= 255; });
  }
  function validIPv6(s) {
    if (!/^[0-9a-fA-F:.]+$/.test(s) || s.indexOf(":") < 0) return false;
    var dbl = s.split("::");
    if (dbl.length > 2) return false;
    var groups = s.replace("::", ":x:").split(":").filter(function (g) { return g !== ""; });
    var n = 0;
    for (var i = 0; i < groups.length; i++) {
      var g = groups[i];
      if (g === "x") continue;
      if (i === groups.length - 1 && g.indexOf(".") >= 0) { if (!validIPv4(g)) return false; n += 2; continue; }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      n++;
    }
    return dbl.length === 2 ? n < 8 : n === 8;
  }
  function validEntry(s) {
    var parts = s.split("/");
    if (parts.length > 2) return false;
    var v4 = validIPv4(parts[0]), v6 = !v4 && validIPv6(parts[0]);
    if (!v4 && !v6) return false;
    if (parts.length === 1) return true;
    if (!/^\d{1,3}$/.test(parts[1])) return false;
    return +parts[1] <= (v4 ? 32 : 128);
  }
  document.querySelectorAll("[data-validate-ips]").forEach(function (area) {
    var status = document.getElementById(area.getAttribute("aria-describedby").split(" ").pop());
    function check() {
      // Entries are separated as the server separates them: lines,
      // commas, spaces or tabs.
      var entries = area.value.split(/[\s,]+/).filter(function (s) { return s !== ""; });
      var bad = entries.filter(function (s) { return !validEntry(s); });
      var n = entries.length;
      if (bad.length) {
        area.setAttribute("aria-invalid", "true");
        status.className = "field-status bad";
        status.textContent = "Not an IP address or CIDR subnet: " + bad.join(", ");
      } else {
        area.removeAttribute("aria-invalid");
        status.className = "field-status" + (n ? " good" : "");
        status.textContent = n ? n + (n === 1 ? " entry" : " entries") + " OK" : "";
      }
      return bad.length === 0;
    }
    area.addEventListener("input", check);
    var form = area.form;
    form.addEventListener("submit", function (e) {
      if (!check()) { e.preventDefault(); area.focus(); }
    });
  });

  // Copy buttons.
  function copied(ok) {
    var s = document.getElementById("copy-status");
    if (s) { s.className = "field-status " + (ok ? "good" : "bad"); s.textContent = ok ? "Copied to the clipboard." : "Copy failed: select the text and copy it."; }
  }
  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { copied(true); }, function () { copied(false); });
    } else {
      var t = document.createElement("textarea");
      t.value = text; document.body.appendChild(t); t.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(t); copied(ok);
    }
  }
  document.querySelectorAll("[data-copy]").forEach(function (b) {
    b.addEventListener("click", function () { copy(document.getElementById(b.getAttribute("data-copy")).value); });
  });
  document.querySelectorAll("[data-copy-text]").forEach(function (b) {
    b.addEventListener("click", function () { copy(b.getAttribute("data-copy-text")); });
  });
  document.querySelectorAll("[data-secret]").forEach(function (i) {
    i.addEventListener("focus", function () { i.select(); });
  });
})();
