package webhook_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/renderhook/renderhook/webhook"
)

// A receiver verifies the raw body before decoding it. The secret comes
// from the renderhook server's webhook settings (here a fixed example).
func ExampleVerify() {
	const secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		err = webhook.Verify(body, r.Header.Get(webhook.HeaderSignature), secret, webhook.DefaultTolerance)
		if err != nil {
			// Tell the sender nothing more than "no"; log err for yourself.
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		var event struct {
			Event    string `json:"event"`
			RenderID string `json:"renderId"`
		}
		if err := json.Unmarshal(body, &event); err != nil {
			http.Error(w, "bad JSON", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "got %s for %s", event.Event, event.RenderID)
	})

	send := func(body, signature string) {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/renderhook", strings.NewReader(body))
		req.Header.Set(webhook.HeaderSignature, signature)
		rec := httptest.NewRecorder()
		receiver.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}

	body := `{"event":"render.succeeded","renderId":"r_01"}`
	signature := webhook.Sign(secret, time.Now(), []byte(body))
	send(body, signature)
	send(strings.Replace(body, "r_01", "r_02", 1), signature)
	// Output:
	// 200 got render.succeeded for r_01
	// 401 invalid signature
}

// VerifyAt checks a webhook against a given clock, here the worked example
// of the signature scheme's documentation; the errors say what is wrong.
func ExampleVerifyAt() {
	body := []byte(`{"event":"render.succeeded","renderId":"e9617143-2a95-4962-9cc9-d72f3c413b9c","result":{"renderUrl":"https://renders.urlbox.io/urlbox1/renders/571f54138cd8b877077d3788/2024/1/11/e9617143-2a95-4962-9cc9-d72f3c413b9c.png","size":359081},"meta":{"startTime":"2024-01-11T23:32:11.908Z","endTime":"2024-01-11T23:33:32.500Z"}}`)
	header := "t=1705016013,sha256=861986740b3b3c8afee299afe74ff7a6249271c776b3efe5b5fd184201f1a07e"
	sentAt := time.Unix(1705016013, 0)

	fmt.Println(webhook.VerifyAt(body, header, "your_webhook_secret", webhook.DefaultTolerance, sentAt.Add(2*time.Second)))

	err := webhook.VerifyAt(body, header, "your_webhook_secret", webhook.DefaultTolerance, sentAt.Add(time.Hour))
	fmt.Println(errors.Is(err, webhook.ErrTimestampOutOfTolerance), err)

	err = webhook.VerifyAt(body, header, "wrong_secret", webhook.DefaultTolerance, sentAt)
	fmt.Println(errors.Is(err, webhook.ErrSignatureMismatch))
	// Output:
	// <nil>
	// true webhook: timestamp outside tolerance: signed 3600s before now, tolerance 5m0s
	// true
}

// Sign makes the header value a server sends; a receiver can reproduce it
// with openssl dgst -sha256 -hmac over "{t}." + body.
func ExampleSign() {
	body := []byte(`{"event":"render.succeeded","renderId":"r_01"}`)
	fmt.Println(webhook.Sign("your_webhook_secret", time.Unix(1705016013, 0), body))
	// Output:
	// t=1705016013,sha256=72a27870fe87f10a386da1926be05650d665e1780ab6f011ef4e9026dd8d8e52
}

// A Standard Webhooks receiver needs three headers; any library that
// implements standardwebhooks.com accepts the same requests.
func ExampleVerifyStandard() {
	secret, err := webhook.NewSecret()
	if err != nil {
		panic(err)
	}

	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := webhook.VerifyStandard(body, r.Header, secret, webhook.DefaultTolerance); err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		// webhook-id stays the same across retries: deduplicate on it.
		fmt.Fprintf(w, "accepted %s", r.Header.Get(webhook.HeaderID))
	})

	body := []byte(`{"event":"render.succeeded","renderId":"r_01"}`)
	h, err := webhook.SignStandardHeaders([]string{secret}, "msg_r_01", time.Now(), body)
	if err != nil {
		panic(err)
	}
	for _, b := range [][]byte{body, []byte(`{"event":"render.failed","renderId":"r_01"}`)} {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/renderhook", strings.NewReader(string(b)))
		req.Header = h.Clone()
		rec := httptest.NewRecorder()
		receiver.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 200 accepted msg_r_01
	// 401 invalid signature
}

// VerifyStandardAt with the example from the Standard Webhooks
// specification.
func ExampleVerifyStandardAt() {
	h := http.Header{}
	h.Set(webhook.HeaderID, "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set(webhook.HeaderTimestamp, "1614265330")
	h.Set(webhook.HeaderStandardSignature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	body := []byte(`{"test": 2432232314}`)

	err := webhook.VerifyStandardAt(body, h, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", webhook.DefaultTolerance, time.Unix(1614265330, 0))
	fmt.Println(err)
	// Output:
	// <nil>
}
