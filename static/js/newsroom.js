// Starts the NHS.UK frontend components (header menu, skip link, tables). Loaded as a module,
// from our own static files, so the Content-Security-Policy needs no inline script.
import { initAll } from "../vendor/nhsuk/nhsuk-frontend.min.js";

initAll();
