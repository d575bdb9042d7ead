// Package aliyun is the SMS provider "aliyun": it sends through Alibaba
// Cloud SMS, Dysmsapi 2017-05-25 SendSms, with the official Go SDK
// (github.com/aliyun/alibaba-cloud-sdk-go/services/dysmsapi), for operators
// who keep Alibaba as their delivery network.
//
// Alibaba renders the text on its side from an approved sign and template,
// so a Send hands over the sign, the template and its parameters, never
// Message.Text:
//
//	PhoneNumbers   the recipient: a +86 number as its 11 digits
//	               (+8613800138000 → 13800138000), any other as country code
//	               and national number without "+" (+85212345678 → 85212345678)
//	SignName       Message.SignName (an approved sign of the Alibaba account)
//	TemplateCode   Message.TemplateCode (an approved template, e.g. SMS_123456789)
//	TemplateParam  Message.Params as a JSON object of strings, e.g. {"code":"1234","min":"5"}
//	OutId          Message.ID, numauth's BizId, which Alibaba's receipts carry
//
// Accepted.ProviderID is the answer's BizId and Accepted.Status is
// StatusPending.
//
// # Flags and environment
//
//	--sms-aliyun-access-key-id      AccessKey ID of the RAM user that sends SMS
//	                                (or $NUMAUTH_SMS_ALIYUN_ACCESS_KEY_ID); required
//	--sms-aliyun-access-key-secret  its secret (or, better, since process listings
//	                                do not show it, $NUMAUTH_SMS_ALIYUN_ACCESS_KEY_SECRET); required
//	--sms-aliyun-region             region ID, default cn-hangzhou
//	--sms-aliyun-endpoint           host[:port] or https://host[:port] of the SMS API,
//	                                default Alibaba's public endpoint for the region
//	                                (dysmsapi.aliyuncs.com for the mainland); http:// is
//	                                accepted only for a loopback host, because the
//	                                number and the code travel in the query string
//	--sms-aliyun-timeout            how long one SendSms may take, default 5s
//
// The RAM user needs permission for dysms:SendSms (for example the
// AliyunDysmsFullAccess policy).
//
// # Answers
//
// "Code":"OK" with a BizId is accepted. Every other answer is an [*Error]
// wrapping sms.ErrRejected (Alibaba refused this message or this account's
// sending as it stands: sending it again will not help) or
// sms.ErrUnavailable (numauth could not be served, or was told to come back
// later: not the number's fault). One table in answers.go decides; it is:
//
//	isv.MOBILE_NUMBER_ILLEGAL          ErrRejected
//	isv.MOBILE_COUNT_OVER_LIMIT        ErrRejected
//	isv.DOMESTIC_NUMBER_NOT_SUPPORTED  ErrRejected
//	isv.SMS_SIGNATURE_ILLEGAL          ErrRejected
//	isv.SMS_SIGN_ILLEGAL               ErrRejected
//	isv.SIGN_STATE_ILLEGAL             ErrRejected
//	isv.SMS_SIGNATURE_SCENE_ILLEGAL    ErrRejected
//	isv.SMS_TEMPLATE_ILLEGAL           ErrRejected
//	isv.TEMPLATE_MISSING_PARAMETERS    ErrRejected
//	isv.TEMPLATE_PARAMS_ILLEGAL        ErrRejected
//	isv.INVALID_PARAMETERS             ErrRejected
//	isv.INVALID_JSON_PARAM             ErrRejected
//	isv.PARAM_LENGTH_LIMIT             ErrRejected
//	isv.PARAM_NOT_SUPPORT_URL          ErrRejected
//	isv.BLACK_KEY_CONTROL_LIMIT        ErrRejected
//	isv.SMS_CONTENT_ILLEGAL            ErrRejected
//	isv.EXTEND_CODE_ERROR              ErrRejected
//	isv.AMOUNT_NOT_ENOUGH              ErrRejected     account: logged at Warn for the operator
//	isv.OUT_OF_SERVICE                 ErrRejected     account
//	isv.DAY_LIMIT_CONTROL              ErrRejected     account
//	isv.MONTH_LIMIT_CONTROL            ErrRejected     account
//	isv.ACCOUNT_ABNORMAL               ErrRejected     account
//	isv.BUSINESS_LIMIT_CONTROL         ErrUnavailable  flow control: later
//	isp.SYSTEM_ERROR                   ErrUnavailable
//	isp.GATEWAY_ERROR                  ErrUnavailable
//	Throttling                         ErrUnavailable
//	Throttling.User                    ErrUnavailable
//	Throttling.Api                     ErrUnavailable
//	ServiceUnavailable                 ErrUnavailable
//	InternalError                      ErrUnavailable
//	InvalidAccessKeyId.NotFound        ErrUnavailable  configuration: logged at Error, naming the flags
//	InvalidAccessKeyId.Inactive        ErrUnavailable  configuration
//	InvalidAccessKeyId                 ErrUnavailable  configuration
//	SignatureDoesNotMatch              ErrUnavailable  configuration (the secret is wrong)
//	IncompleteSignature                ErrUnavailable  configuration
//	InvalidTimeStamp.Expired           ErrUnavailable  configuration (this machine's clock)
//	SignatureNonceUsed                 ErrUnavailable  configuration
//	Forbidden.RAM                      ErrUnavailable  configuration (RAM permission)
//	isp.RAM_PERMISSION_DENY            ErrUnavailable  configuration (RAM permission)
//	Forbidden.AccessKeyDisabled        ErrUnavailable  configuration
//	isv.ACCOUNT_NOT_EXISTS             ErrUnavailable  configuration
//	isv.PRODUCT_UN_SUBSCRIPT           ErrUnavailable  configuration
//	isv.PRODUCT_UNSUBSCRIBE            ErrUnavailable  configuration
//	isv.DENY_IP_RANGE                  ErrUnavailable  configuration (where numauth runs)
//
// Beyond the table: any HTTP 5xx is ErrUnavailable whatever its body; any
// other "isv." code is ErrRejected; any other code, an answer without a
// Code, "OK" without a BizId, an answer the SDK cannot parse, a connection
// error, the timeout and a canceled context are ErrUnavailable. An
// ErrUnavailable from a timeout does not prove that Alibaba sent nothing.
//
// # Limits
//
//   - No retries: the SDK's auto-retry is off and a redirect is refused, so
//     one Send is at most one HTTP request. Alibaba does not deduplicate by
//     OutId, so a retry after a timeout could deliver twice; numauth's
//     callers decide whether to send again.
//   - No delivery receipts: Alibaba reports delivery through its message
//     queue or QuerySendDetails, which this provider does not read; accepted
//     messages stay StatusPending.
//   - One number per Send; SendBatchSms is not used.
//   - AccessKey credentials only (no STS token, RAM role or credentials
//     file).
//   - Logs and errors carry the number masked (+86138****5678) and never the
//     text or a parameter; Alibaba's Code, Message or RequestId are dropped
//     from them when they quote the number or a parameter. The SDK itself
//     prints requests, number and code included, to standard output when
//     the DEBUG environment variable contains "sdk": never set that in
//     production.
package aliyun
