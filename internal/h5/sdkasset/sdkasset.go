// Package sdkasset holds the built numauth web SDK, the file the H5 gateway serves at
// /sdk/numberauth-web-sdk.js. Its source is web/sdk/src (TypeScript); after changing it,
// run go generate ./internal/h5/sdkasset and commit the result (a test fails on a stale copy).
package sdkasset

import _ "embed"

//go:generate go run ../../../web/sdk/build

// JS is the SDK: one minified UMD file (ES2017, no dependencies) that sets
// window.PhoneNumberServer and window.PhoneServerCustomization.
//
//go:embed numberauth-web-sdk.js
var JS []byte

// Version is the SDK's version, as its getVersion() returns it.
const Version = "1.0.0"

// ContentType is the media type to serve JS with.
const ContentType = "text/javascript; charset=utf-8"
