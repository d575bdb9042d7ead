// Package compat holds numauth's compatibility tests with the official
// Alibaba Cloud SDKs: the V1 (RPC signature) SDK
// github.com/aliyun/alibaba-cloud-sdk-go/services/dypnsapi and the V3
// (ACS3-HMAC-SHA256) client github.com/alibabacloud-go/darabonba-openapi/v2,
// each driving a real numauth process started by test/harness. It also
// throws hostile raw HTTP at the RPC front end and runs the README's
// first-call example so that it cannot rot.
//
// Every SDK flavour (V1 with JSON, XML and GET; V3; darabonba's V1
// signatures) is held to the same wire names by decoding into the V1 SDK's
// structs. What is tested through each:
//   - schemes and GetAuthToken, with their business and gateway codes;
//   - local-number verification and one-click login end to end, with the
//     statistics they count;
//   - signatures, skewed clocks and nonces, keys managed from the CLI, a
//     new scheme usable at once, throttling and each SDK's quirks;
//   - SMS codes (SendSmsVerifyCode, CheckSmsVerifyCode, QuerySendDetails):
//     a code sent, read back from the answer or the sandbox outbox,
//     checked once, listed with its number masked and its code starred out,
//     counted by the statistics (AuthenticationType 3); every documented
//     refusal with its HTTP status (200 with Success false, or 400 for a
//     missing parameter, never a 500); five checks per code; SchemeName as
//     the codes' namespace; CaseAuthPolicy over the letter CodeTypes;
//     DuplicatePolicy; QuerySendDetails' pages (XML lists too); the hourly
//     limit, the provider's refusals (charging nothing) and test numbers
//     (never sent, never limited).
//
// The package has no code of its own; everything is in its tests.
package compat
