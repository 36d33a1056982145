package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"gopkg.in/yaml.v3"
)

// Settings in a real browser on the real binary: the outputs list; a configuration
// import that removes a user, refused without Replace and done with it; then a
// backup restored from the page: the hub restarts in the same process, the app
// waits for it and asks for a login, and the backup's configuration is back.
func TestSettingsInBrowser(t *testing.T) {
	_, step, js := chromium(t)
	dir, args := setup(t)
	data := args[3]
	ctx := context.Background()
	if err := run(ctx, []string{"user", "passwd", "-data", data, "-id", "alice_admin", "-password"},
		strings.NewReader("admin-pass-1\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"user", "add", "-data", data, "-name", "Bob", "-role", "user"},
		strings.NewReader("246802\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	// A fixed web port: the page must find the hub again after its restart.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, stderr := spawnHub(t, append(args, "-http", addr)...)
	starts := make(chan struct{}, 4)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if startedRe.MatchString(sc.Text()) {
				starts <- struct{}{}
			}
		}
	}()
	started := func() {
		t.Helper()
		select {
		case <-starts:
		case <-time.After(60 * time.Second):
			t.Fatal("the hub did not start in 60 s")
		}
	}
	started()
	api := webLogin(t, addr, "alice_admin", "admin-pass-1")
	var backup, export []byte
	api.do("GET", "/api/v1/backup", "", "", &backup)
	api.do("GET", "/api/v1/config", "", "", &export)
	backupFile := filepath.Join(dir, "vakt-backup-before.db")
	if err := os.WriteFile(backupFile, backup, 0o600); err != nil {
		t.Fatal(err)
	}
	// The exported configuration without Bob and with a longer exit delay.
	var doc map[string]any
	if err := yaml.Unmarshal(export, &doc); err != nil {
		t.Fatal(err)
	}
	doc["users"] = doc["users"].([]any)[:1]
	doc["settings"].(map[string]any)["exit_delay"].(map[string]any)["away"] = "45s"
	edited, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	importFile := filepath.Join(dir, "without-bob.yaml")
	if err := os.WriteFile(importFile, edited, 0o600); err != nil {
		t.Fatal(err)
	}

	step("log in", chromedp.Navigate("http://"+addr), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login-user"), "alice_admin"), chromedp.SendKeys(chromedp.ID("login-password"), "admin-pass-1"),
		chromedp.Click(chromedp.ID("login-submit")), js(`document.getElementById("state").dataset.state === "disarmed"`))
	step("the outputs", chromedp.Click(chromedp.ID("nav-settings")),
		js(`[...document.querySelectorAll("#outputs-list li")].map(li => li.dataset.output + ": " + li.innerText.replace(/\s+/g, " ")).join("\n") === `+
			"`siren: Siren (siren) wanted off mqtt test/siren`"))
	step("an import that removes a user needs Replace",
		chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{importFile}), chromedp.Click(chromedp.ID("import-go")),
		js(`document.getElementById("import-result").className === "error" && document.getElementById("import-result").textContent === `+
			`"Not possible now: it would remove user(s) bob; run it again with -replace to confirm (nothing was changed) To remove them, tick Replace and import again."`))
	step("with Replace",
		chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{importFile}), chromedp.Click(chromedp.ID("import-replace")),
		chromedp.Click(chromedp.ID("import-go")),
		js(`document.getElementById("import-result").textContent === "imported 2 zones, 1 users, 1 outputs into the running hub"`),
		js(`document.getElementById("s-exit-away").value === "45"`))
	step("restore the backup", chromedp.SetUploadFiles(chromedp.ID("restore-file"), []string{backupFile}),
		chromedp.Click(chromedp.ID("restore-go")), js(`document.getElementById("restore-dialog").open`),
		js(`document.getElementById("restore-text").textContent.startsWith("Restore the database from vakt-backup-before.db?")`),
		chromedp.Click(chromedp.ID("restore-ok")))
	started()
	step("the app waits for the restart and asks for a login",
		js(`!document.getElementById("view-login").hidden && document.getElementById("message").textContent === "The hub restarted with the backup: log in again."`),
		js(`(document.getElementById("login-user").value = "") === ""`),
		chromedp.SendKeys(chromedp.ID("login-user"), "alice_admin"), chromedp.SendKeys(chromedp.ID("login-password"), "admin-pass-1"),
		chromedp.Click(chromedp.ID("login-submit")), js(`document.getElementById("view-login").hidden`))
	step("the backup's settings and users", chromedp.Click(chromedp.ID("nav-settings")),
		js(`document.getElementById("s-exit-away")?.value === "30"`), chromedp.Click(chromedp.ID("nav-users")),
		js(`[...document.querySelectorAll("#users-body tr")].map(r => r.dataset.user).join() === "alice_admin,bob"`))
	step("the restore in the event log", chromedp.Click(chromedp.ID("nav-events")),
		js(`(() => { const r = document.querySelector("#events-body tr"); return !!r && r.dataset.type === "restored" && r.textContent.includes("vakt-backup-before.db"); })()`))
}
