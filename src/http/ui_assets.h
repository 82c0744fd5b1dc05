/* ui_assets.h - the web UI's static files embedded in the binary.
 *
 * The table is generated at build time by scripts/gen_ui_assets.py from
 * build/ui (the output of `cd ui && node build.mjs`) into
 * $(BUILD)/gen/ui_assets.c; the bytes are pulled in with the assembler's
 * .incbin, so nothing is read from disk at run time. `make UI=0` generates an
 * empty table (ui_assets_count 0). */
#ifndef SKYDIVE_UI_ASSETS_H
#define SKYDIVE_UI_ASSETS_H

#include <stddef.h>

struct ui_asset {
	const char *path;         /* "/index.html", "/app.js" (relative to build/ui) */
	const char *content_type; /* "text/javascript; charset=utf-8" */
	const unsigned char *data;
	size_t len;
	const unsigned char *gz; /* gzip'd copy, NULL when it would not be smaller */
	size_t gz_len;
	const char *etag;    /* strong ETag of data, quoted: "\"3f2a...\"" */
	const char *etag_gz; /* ETag of the gzip'd copy (NULL without one) */
};

/* ui_assets_count entries, then one all-zero entry. */
extern const struct ui_asset ui_assets[];
extern const size_t ui_assets_count;

/* The asset at path ("/app.js"), or NULL. */
const struct ui_asset *ui_asset_find(const char *path);

#endif
