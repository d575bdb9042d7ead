// Package compat holds numauth's compatibility tests with the official
// Alibaba Cloud SDKs: the V1 (RPC signature) SDK
// github.com/aliyun/alibaba-cloud-sdk-go/services/dypnsapi and the V3
// (ACS3-HMAC-SHA256) client github.com/alibabacloud-go/darabonba-openapi/v2,
// each driving a real numauth process started by test/harness. It also
// throws hostile raw HTTP at the RPC front end and runs the README's
// first-call example so that it cannot rot.
//
// The package has no code of its own; everything is in its tests.
package compat
