package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/renderhook/renderhook/internal/sealed"
	"github.com/renderhook/renderhook/internal/space"
)

const storageUsage = "usage: renderhook space storage set --space ID --bucket B [--endpoint URL] [--region R] [--force-path-style] [--access-key K] (the secret key is read from stdin) | " +
	"space storage show --space ID | space storage delete --space ID | space storage reseal (after a --storage-credentials-key rotation)"

// spaceStorageCmd manages a space's own S3 bucket: what PUT/GET/DELETE
// /api/storage do, and the reseal that ends a key rotation. It takes
// --storage-credentials-key (or its variable) like serve.
func spaceStorageCmd(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(storageUsage)
	}
	fs, db := dbFlagSet("space storage " + args[0])
	keys := fs.String("storage-credentials-key", "", "the server's storage credentials keys, as serve takes them")
	spaceID := fs.String("space", "", "space id (set, show, delete)")
	var in space.StorageSettings
	fs.StringVar(&in.Bucket, "bucket", "", "bucket name (set)")
	fs.StringVar(&in.Endpoint, "endpoint", "", "S3 endpoint, https://host[:port] (set; default AWS S3)")
	fs.StringVar(&in.Region, "region", "", "bucket region (set; default us-east-1)")
	fs.BoolVar(&in.ForcePathStyle, "force-path-style", false, "address the bucket as endpoint/bucket/key (set)")
	fs.StringVar(&in.AccessKey, "access-key", "", "access key id; the secret key is then read from stdin, never from a flag (set)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if (args[0] == "reseal") == (*spaceID != "") {
		return errors.New(storageUsage)
	}
	ring, err := sealed.ParseKeys(*keys)
	if err != nil {
		return err
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := space.New(st, 0).WithStorage(ring, nil)
	var v *space.StorageView
	switch args[0] {
	case "set":
		if in.AccessKey != "" {
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("read the secret key from stdin: %w", err)
			}
			in.SecretKey = strings.TrimSpace(line)
		}
		v, err = svc.SetStorage(ctx, *spaceID, in)
	case "show":
		v, err = svc.Storage(ctx, *spaceID)
	case "delete":
		err = svc.DeleteStorage(ctx, *spaceID)
	case "reseal":
		var n int
		n, err = svc.ResealStorage(ctx)
		if err == nil {
			fmt.Fprintf(stdout, "resealed %d secret keys under the first --storage-credentials-key\n", n)
		}
	default:
		return errors.New(storageUsage)
	}
	if err != nil || v == nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
