package main

import (
	"context"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// sideFloorFresh names freshFloor's figures.
const sideFloorFresh = "floor, fresh context"

// freshFloor is what a plain chromedp program pays for the isolation the v1
// API promises (issue: "every URL render runs in a fresh incognito browser
// context"): per render, in the floor's Chromium, a new browser context
// with a window and a tab, attached, the viewport set, the HTML loaded and
// captured. It is timed to the capture; the context is then disposed of,
// untimed and before the next render, so the next one never shares the
// cores with that work. It has no target: it shows how much of the v1
// side's time the fresh context itself costs, next to the warm-tab floor
// the v1 target is judged against.
type freshFloor struct {
	fl *floor
}

func (f *freshFloor) name() string { return sideFloorFresh }

func (f *freshFloor) render(ctx context.Context, _ int, fm format) (result, error) {
	if fm != formatPNG {
		return result{}, fmt.Errorf("%s: only PNG is measured", sideFloorFresh)
	}
	bexec := cdp.WithExecutor(ctx, chromedp.FromContext(f.fl.tabs[0].ctx).Browser)
	start := time.Now()
	bctxID, err := target.CreateBrowserContext().WithDisposeOnDetach(true).Do(bexec)
	if err != nil {
		return result{}, fmt.Errorf("%s: create browser context: %w", sideFloorFresh, err)
	}
	defer func() {
		// After the capture, outside the timing (runPhase times render as
		// a whole, so the capture's time is returned as took).
		_ = target.DisposeBrowserContext(bctxID).Do(cdp.WithExecutor(context.WithoutCancel(ctx), chromedp.FromContext(f.fl.tabs[0].ctx).Browser))
	}()
	id, err := target.CreateTarget("about:blank").WithBrowserContextID(bctxID).WithNewWindow(true).Do(bexec)
	if err != nil {
		return result{}, fmt.Errorf("%s: create target: %w", sideFloorFresh, err)
	}
	tctx, cancel := chromedp.NewContext(f.fl.tabs[0].ctx, chromedp.WithTargetID(id))
	defer cancel()
	var data []byte
	err = chromedp.Run(tctx, chromedp.ActionFunc(func(ctx context.Context) error {
		frameID, err := prepareTab(ctx)
		if err != nil {
			return err
		}
		if err := page.SetDocumentContent(frameID, f.fl.html).Do(ctx); err != nil {
			return fmt.Errorf("set document content: %w", err)
		}
		data, err = page.CaptureScreenshot().WithFormat(page.CaptureScreenshotFormatPng).Do(ctx)
		return err
	}))
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", sideFloorFresh, err)
	}
	return result{data: data, took: time.Since(start)}, nil
}
