// Package e2e holds numauth's whole-system browser tests: a real numauth
// process (test/harness), the H5 demo's integrator server
// (examples/h5-demo/demo) on another loopback port, and headless Chromium
// (driven with chromedp) loading the demo page, so that the page's origin
// differs from numauth's and every SDK call is a real cross-origin request.
//
// The tests skip when no Chromium is found: set NUMAUTH_CHROMIUM to the
// browser binary, or put chromium, chromium-browser or google-chrome on
// PATH. Run with -update-screenshot to rewrite docs/img/h5-demo.png.
//
// TestNPMPackage does the same through the web SDK's npm package and the Node.js
// integrator (examples/node-integrator): it also needs node, npm, tsc and the example's
// node_modules (npm ci), and skips without them.
package e2e
