package browser

import (
	"context"
	"fmt"
)

// fail_if_captcha: the ready page is searched for the widgets of the
// three CAPTCHA services sites use (Google reCAPTCHA, hCaptcha,
// Cloudflare Turnstile and its challenge page): their iframes and scripts
// by origin and path, and the elements their embed code puts in the page.
// Finding one fails the render with ErrCaptcha, as Urlbox's option does;
// nothing is ever solved.

// captchaScript answers the name of the CAPTCHA the page shows, or "".
const captchaScript = `(() => {
	const srcs = [...document.querySelectorAll('iframe[src], script[src]')].map((e) => e.src);
	const kinds = [
		['reCAPTCHA', /^https?:\/\/(www\.)?(google\.com|recaptcha\.net|gstatic\.com)\/recaptcha\//i,
			'.g-recaptcha, .grecaptcha-badge, textarea[name="g-recaptcha-response"]'],
		['hCaptcha', /^https?:\/\/([a-z0-9-]+\.)*hcaptcha\.com\//i,
			'.h-captcha, textarea[name="h-captcha-response"]'],
		['Cloudflare Turnstile', /^https?:\/\/challenges\.cloudflare\.com\//i,
			'.cf-turnstile, input[name="cf-turnstile-response"], #challenge-form, #cf-challenge-running'],
	];
	for (const [name, re, sel] of kinds) {
		if (srcs.some((s) => re.test(s)) || document.querySelector(sel)) return name;
	}
	return '';
})()`

// failIfCaptcha fails with ErrCaptcha when the page shows a CAPTCHA.
func failIfCaptcha(ctx context.Context) error {
	var kind string
	if err := evaluate(ctx, captchaScript, &kind); err != nil {
		return fmt.Errorf("fail_if_captcha: %w", err)
	}
	if kind != "" {
		return fmt.Errorf("%w: fail_if_captcha: the page shows a %s widget", ErrCaptcha, kind)
	}
	return nil
}
