package main

// The carrier adapters and SMS providers serve can use; each registers
// itself under its name.
import (
	_ "github.com/numauth/numauth/internal/carrier/camara"
	_ "github.com/numauth/numauth/internal/carrier/sandbox"

	_ "github.com/numauth/numauth/internal/sms/aliyun"
	_ "github.com/numauth/numauth/internal/sms/sandbox"
	_ "github.com/numauth/numauth/internal/sms/smpp"
	_ "github.com/numauth/numauth/internal/sms/webhook"
)
