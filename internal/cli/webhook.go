package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/renderhook/renderhook/webhook"
)

// stdin is where `webhook verify` and `webhook sign` read the body; tests
// replace it.
var stdin io.Reader = os.Stdin

const webhookUsage = "usage: renderhook webhook verify --secret S --signature H [--tolerance 5m] [--id ID --timestamp T] < body\n" +
	"       renderhook webhook sign --secret S [--timestamp unix] [--standard --id ID] < body"

// webhookCmd checks or makes webhook signatures over a body read byte for
// byte from in, so a receiver can test its own verification against the
// server's (pipe with printf '%s', not echo, which adds a newline).
func webhookCmd(ctx context.Context, args []string, in io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(webhookUsage)
	}
	switch args[0] {
	case "verify":
		return webhookVerify(args[1:], in, stdout)
	case "sign":
		return webhookSign(args[1:], in, stdout)
	default:
		return fmt.Errorf("webhook: unknown subcommand %q\n%s", args[0], webhookUsage)
	}
}

func webhookVerify(args []string, in io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("webhook verify", flag.ContinueOnError)
	secret := fs.String("secret", "", "webhook secret")
	signature := fs.String("signature", "", `signature header value: "t=...,sha256=..." or Standard Webhooks "v1,..."`)
	tolerance := fs.Duration("tolerance", webhook.DefaultTolerance, "allowed clock difference in either direction; 0 skips the time check (for webhooks captured earlier)")
	id := fs.String("id", "", "webhook-id header value (Standard Webhooks)")
	timestamp := fs.String("timestamp", "", "webhook-timestamp header value (Standard Webhooks)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *secret == "" || *signature == "" {
		return errors.New("webhook verify: --secret and --signature are required")
	}
	body, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	sig := strings.TrimSpace(*signature)
	if strings.HasPrefix(sig, "v1,") || strings.Contains(sig, " v1,") {
		if *id == "" || *timestamp == "" {
			return errors.New("webhook verify: a v1 signature needs --id and --timestamp")
		}
		h := http.Header{}
		h.Set(webhook.HeaderID, *id)
		h.Set(webhook.HeaderTimestamp, *timestamp)
		h.Set(webhook.HeaderStandardSignature, sig)
		err = webhook.VerifyStandard(body, h, *secret, *tolerance)
	} else {
		err = webhook.Verify(body, sig, *secret, *tolerance)
	}
	if err != nil {
		return err // already reads "webhook: signature mismatch: ..."
	}
	fmt.Fprintln(stdout, "valid")
	return nil
}

func webhookSign(args []string, in io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("webhook sign", flag.ContinueOnError)
	secret := fs.String("secret", "", "webhook secret")
	timestamp := fs.Int64("timestamp", 0, "send time in unix seconds (default now)")
	standard := fs.Bool("standard", false, "print Standard Webhooks headers instead of "+webhook.HeaderSignature)
	id := fs.String("id", "", "webhook-id (with --standard)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *secret == "" {
		return errors.New("webhook sign: --secret is required")
	}
	t := time.Now()
	if *timestamp != 0 {
		t = time.Unix(*timestamp, 0)
	}
	body, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if !*standard {
		fmt.Fprintf(stdout, "%s: %s\n", webhook.HeaderSignature, webhook.Sign(*secret, t, body))
		return nil
	}
	if *id == "" {
		return errors.New("webhook sign: --standard needs --id")
	}
	sig, err := webhook.SignStandard(*secret, *id, t, body)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s\n%s: %s\n%s: %s\n",
		webhook.HeaderID, *id, webhook.HeaderTimestamp, strconv.FormatInt(t.Unix(), 10), webhook.HeaderStandardSignature, sig)
	return nil
}
