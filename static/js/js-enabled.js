// Runs before the page paints: NHS.UK frontend styles interactive parts only when JavaScript runs.
document.body.className += " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " nhsuk-frontend-supported" : "");
