// Command first-call is a first call to numauth with Alibaba Cloud's official
// Go SDK (github.com/aliyun/alibaba-cloud-sdk-go, Dypnsapi 2017-05-25): it
// registers an H5 scheme for a web page, then asks for the AccessToken and
// JwtToken that the page hands to the numauth web SDK.
//
// Start numauth with a bootstrap AccessKey, then run this program with the
// same key:
//
//	export NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID=LTAI5tExampleKey0001
//	export NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET=example-secret-0123456789
//	numauth serve &
//	go run ./examples/first-call -origin https://www.example.com -url https://www.example.com/login
//
// The only numauth-specific lines are the two that point the SDK at numauth
// (client.Domain and the scheme); everything else is what you would write
// for Alibaba Cloud.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/dypnsapi"
)

// config is what the program needs; flags override the environment.
type config struct {
	Endpoint        string // e.g. http://127.0.0.1:8080
	AccessKeyID     string
	AccessKeySecret string
	Origin, URL     string // the H5 page
	SchemeCode      string // an existing scheme; empty creates one
}

func main() {
	cfg := config{Endpoint: os.Getenv("NUMAUTH_ENDPOINT")}
	if cfg.Endpoint == "" {
		cfg.Endpoint = "http://127.0.0.1:8080"
	}
	flag.StringVar(&cfg.Endpoint, "endpoint", cfg.Endpoint, "numauth's address [NUMAUTH_ENDPOINT]")
	flag.StringVar(&cfg.AccessKeyID, "access-key-id", "", "AccessKeyId [NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID]")
	flag.StringVar(&cfg.AccessKeySecret, "access-key-secret", "", "AccessKeySecret [NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET]")
	flag.StringVar(&cfg.Origin, "origin", "https://www.example.com", "origin of your H5 page")
	flag.StringVar(&cfg.URL, "url", "https://www.example.com/login", "URL of your H5 page")
	flag.StringVar(&cfg.SchemeCode, "scheme-code", "", "use this scheme instead of creating one")
	flag.Parse()
	// The secret comes from the environment by default, so that it never
	// shows in -help or in the process list.
	if cfg.AccessKeyID == "" {
		cfg.AccessKeyID = os.Getenv("NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID")
	}
	if cfg.AccessKeySecret == "" {
		cfg.AccessKeySecret = os.Getenv("NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET")
	}
	if err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "first-call:", err)
		os.Exit(1)
	}
}

func run(cfg config, out io.Writer) error {
	if cfg.AccessKeyID == "" || cfg.AccessKeySecret == "" {
		return errors.New("set NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID and NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET (or -access-key-id and -access-key-secret)")
	}
	endpoint, err := url.Parse(cfg.Endpoint)
	if err != nil || (endpoint.Scheme != "http" && endpoint.Scheme != "https") || endpoint.Host == "" {
		return fmt.Errorf("endpoint %q: want http://host:port or https://host:port", cfg.Endpoint)
	}

	client, err := dypnsapi.NewClientWithAccessKey("cn-hangzhou", cfg.AccessKeyID, cfg.AccessKeySecret)
	if err != nil {
		return err
	}
	// Point the SDK at numauth instead of Alibaba Cloud's endpoint.
	client.Domain = endpoint.Host
	client.GetConfig().WithScheme(strings.ToUpper(endpoint.Scheme))

	// 1. Register the page once: an H5 scheme holds its Origin and Url.
	code := cfg.SchemeCode
	if code == "" {
		req := dypnsapi.CreateCreateVerifySchemeRequest()
		req.SchemeName = "first-call " + time.Now().UTC().Format("2006-01-02 15:04:05.000")
		req.AppName = "first-call"
		req.OsType = "H5"
		req.Origin = cfg.Origin
		req.Url = cfg.URL
		resp, err := client.CreateVerifyScheme(req)
		if err != nil {
			return fmt.Errorf("CreateVerifyScheme: %w", err)
		}
		if resp.Code != "OK" {
			return fmt.Errorf("CreateVerifyScheme: %s: %s", resp.Code, resp.Message)
		}
		code = resp.GateVerifySchemeDTO.SchemeCode
	}

	// 2. For every visit of the page: tokens bound to its Origin and Url.
	// (Url and Origin alone are enough when one scheme matches them;
	// SceneCode picks the scheme when several do.)
	req := dypnsapi.CreateGetAuthTokenRequest()
	req.Url = cfg.URL
	req.Origin = cfg.Origin
	req.SceneCode = code
	resp, err := client.GetAuthToken(req)
	if err != nil {
		return fmt.Errorf("GetAuthToken: %w", err)
	}
	if resp.Code != "OK" {
		return fmt.Errorf("GetAuthToken: %s: %s", resp.Code, resp.Message)
	}

	fmt.Fprintf(out, "SchemeCode:  %s\n", code)
	fmt.Fprintf(out, "AccessToken: %s\n", resp.TokenInfo.AccessToken)
	fmt.Fprintf(out, "JwtToken:    %s\n", resp.TokenInfo.JwtToken)
	fmt.Fprintln(out, "\nHand both tokens to the web SDK on the page (checkAuthAvailable or checkLoginAvailable).")
	return nil
}
