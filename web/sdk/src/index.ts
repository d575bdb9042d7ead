// numauth web SDK: the page side of the H5 flows (SPEC.md §3, docs/web-sdk.md).
// Built by web/sdk/build into the UMD file numauth serves at /sdk/numberauth-web-sdk.js
// and the ES module web/sdk/dist/numberauth-web-sdk.mjs.

export { PhoneNumberServer } from "./number-server";
export { PhoneServerCustomization } from "./customization";
export { FusionAuth } from "./fusion";
