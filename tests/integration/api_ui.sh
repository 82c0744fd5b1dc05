#!/bin/bash
# api_ui.sh - the analyzer's HTTP side for browsers: the embedded web UI (/, /ui/...,
# assets with Content-Type, ETag/304, gzip), CORS headers and OPTIONS pre-flight as
# Skydive's gorilla CORS middleware answered them, and POST /login (noauth).
# One `ok NAME` / `FAIL NAME: reason` line per check, then `N passed, M failed`.
# Binds 127.0.0.1 only. SKYDIVE selects the binary (e.g. an ASan build); UI_DIR the
# built UI it embeds (default build/ui).
set -u
. "$(dirname "$0")/lib/harness.sh"
UI_DIR=${UI_DIR:-$root/build/ui}
# cj CODE WANT FILE EXPR: status CODE is WANT and the JSON in FILE satisfies EXPR.
cj() { [ "$1" = "$2" ] && jtest "$4" <"$3"; }
# cf CODE WANT FILE1 FILE2: status CODE is WANT and the files are equal.
cf() { [ "$1" = "$2" ] && cmp -s "$3" "$4"; }
# req NAME CURL-ARGS...: the answer's headers in $tmp/NAME.h (lower-cased names),
# body in $tmp/NAME.b, status in $code.
req() {
	local n=$1; shift
	code=$(curl -s -o "$tmp/$n.b" -D "$tmp/$n.raw" -w '%{http_code}' "$@")
	tr -d '\r' <"$tmp/$n.raw" | sed 's/^\([^:]*\):/\L\1:/' >"$tmp/$n.h"
}
# hdr NAME HEADER: the value of HEADER (lower case) in the answer NAME.
hdr() { grep -m1 "^$2:" "$tmp/$1.h" | cut -d' ' -f2-; }

if [ ! -f "$UI_DIR/index.html" ] || [ ! -f "$UI_DIR/app.js" ]; then
	ko built-ui "no built UI in $UI_DIR (make builds it)"
	echo "$pass passed, $fail failed"
	exit 1
fi

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
# Skydive's "*" (our default is same-origin only: see "default origins" below)
SKYDIVE_HTTP_CORS_ALLOWED_ORIGINS='*' \
	SKYDIVE_ANALYZER_DATA_DIR=$tmp/data "$SKYDIVE" analyzer --listen "127.0.0.1:$PORT" \
	2>"$tmp/analyzer.log" &
pids+=($!)
for _ in $(seq 1 100); do
	curl -sf "$URL/api" >/dev/null 2>&1 && break
	sleep 0.1
done
if ! curl -sf "$URL/api" >/dev/null 2>&1; then
	ko start "the analyzer did not answer: $(head -c 500 "$tmp/analyzer.log")"
	echo "$pass passed, $fail failed"
	exit 1
fi
ok start

# ---- index.html at /, /ui/ and client-side routes ---------------------------
for p in / /ui/ /ui/topology /ui/status /ui/login /index.html; do
	n=idx$(echo "$p" | tr '/.' '__')
	req "$n" "$URL$p"
	if [ "$code" = 200 ] && hdr "$n" content-type | grep -q '^text/html' &&
		cmp -s "$tmp/$n.b" "$UI_DIR/index.html"; then
		ok "index $p"
	else
		ko "index $p" "status $code, type '$(hdr "$n" content-type)', body $(head -c 120 "$tmp/$n.b")"
	fi
done
check index-no-cache "Cache-Control '$(hdr idx_ cache-control)'" \
	test "$(hdr idx_ cache-control)" = no-cache
req uiredir "$URL/ui"
check ui-redirect "GET /ui: $code, Location '$(hdr uiredir location)'" \
	test "$code" = 301 -a "$(hdr uiredir location)" = /ui/

# ---- assets -------------------------------------------------------------------
for p in /ui/app.js /app.js; do
	n=js$(echo "$p" | tr '/.' '__')
	req "$n" "$URL$p"
	if [ "$code" = 200 ] && hdr "$n" content-type | grep -q '^text/javascript' &&
		cmp -s "$tmp/$n.b" "$UI_DIR/app.js"; then
		ok "asset $p"
	else
		ko "asset $p" "status $code, type '$(hdr "$n" content-type)', $(stat -c %s "$tmp/$n.b") bytes vs $(stat -c %s "$UI_DIR/app.js")"
	fi
done
for f in app.css:text/css favicon.svg:image/svg+xml; do
	name=${f%%:*} type=${f#*:}
	[ -f "$UI_DIR/$name" ] || continue
	req "a_$name" "$URL/ui/$name"
	if [ "$code" = 200 ] && hdr "a_$name" content-type | grep -q "^$type" &&
		cmp -s "$tmp/a_$name.b" "$UI_DIR/$name"; then
		ok "asset /ui/$name"
	else
		ko "asset /ui/$name" "status $code, type '$(hdr "a_$name" content-type)'"
	fi
done
req nested "$URL/ui/captures/abc/app.js"
check nested-asset "GET /ui/captures/abc/app.js: $code" cf "$code" 200 "$tmp/nested.b" "$UI_DIR/app.js"
req nofile "$URL/ui/nope.js"
check ui-missing-file "GET /ui/nope.js: $code $(cat "$tmp/nofile.b")" \
	cj "$code" 404 "$tmp/nofile.b" '"Error" in j' 

# HEAD: the GET's headers, no body, and the connection still usable
req head -I "$URL/ui/app.js"
check head "HEAD /ui/app.js: $code, length '$(hdr head content-length)'" \
	test "$code" = 200 -a "$(hdr head content-length)" = "$(stat -c %s "$UI_DIR/app.js")"
# (a body after HEAD would garble the next answer on the same connection)
out=$(curl -s -o /dev/null -w '%{http_code} ' -I "$URL/" --next -s -o /dev/null \
	-w '%{http_code} %{num_connects}' "$URL/api")
check head-keepalive "HEAD then GET on one connection: '$out'" test "$out" = "200 200 0"

# ETag / If-None-Match
etag=$(hdr js_ui_app_js etag)
req inm -H "If-None-Match: $etag" "$URL/ui/app.js"
check etag-304 "If-None-Match $etag: $code" \
	test -n "$etag" -a "$code" = 304 -a ! -s "$tmp/inm.b"
req inm2 -H 'If-None-Match: "other"' "$URL/ui/app.js"
check etag-other-200 "If-None-Match other: $code" test "$code" = 200
req inm3 -H "If-None-Match: $(hdr idx_ etag)" "$URL/"
check etag-index-304 "index If-None-Match: $code" test "$code" = 304

# gzip when asked, the same bytes once decoded
req gz -H 'Accept-Encoding: gzip, deflate' "$URL/app.js"
if [ "$code" = 200 ] && [ "$(hdr gz content-encoding)" = gzip ] &&
	gzip -dc <"$tmp/gz.b" | cmp -s - "$UI_DIR/app.js"; then
	ok gzip
else
	ko gzip "status $code, Content-Encoding '$(hdr gz content-encoding)'"
fi
req gz0 -H 'Accept-Encoding: gzip;q=0' "$URL/app.js"
check gzip-refused "gzip;q=0: Content-Encoding '$(hdr gz0 content-encoding)'" \
	cf "$(hdr gz0 content-encoding)" "" "$tmp/gz0.b" "$UI_DIR/app.js"
check gzip-vary "Vary '$(hdr gz vary)'" test "$(hdr gz vary)" = Accept-Encoding
# a client's HTTP/2 upgrade (h2c) still gets the whole 300 KB file
if curl -V | grep -q HTTP2; then
	req h2 --http2 --max-time 10 "$URL/ui/app.js"
	check h2c-large-body "status $code, $(wc -c <"$tmp/h2.b") bytes" \
		cf "$code" 200 "$tmp/h2.b" "$UI_DIR/app.js"
fi

# ---- not the UI: JSON 404, API unchanged ----------------------------------------
req nope "$URL/nope"
check nope-404 "GET /nope: $code $(cat "$tmp/nope.b")" cj "$code" 404 "$tmp/nope.b" '"Error" in j' 
req api "$URL/api"
check api "GET /api: $code $(cat "$tmp/api.b")" cj "$code" 200 "$tmp/api.b" 'j["Service"]=="analyzer"' 
req api2 "$URL/api/"
check api-slash "GET /api/: $code" test "$code" = 200
req post "$URL/ui/" -X POST -d x
check ui-post-405 "POST /ui/: $code" test "$code" = 405
req wsplain "$URL/ws/subscriber"
check ws-plain-http "GET /ws/subscriber without Upgrade: $code" test "$code" = 400

# ---- CORS ------------------------------------------------------------------------
req c1 -H 'Origin: http://ui.example:8080' "$URL/api"
check cors-get "Access-Control-Allow-Origin '$(hdr c1 access-control-allow-origin)'" \
	test "$code" = 200 -a "$(hdr c1 access-control-allow-origin)" = "*"
req c2 "$URL/api"
check cors-no-origin "no Origin, yet '$(hdr c2 access-control-allow-origin)'" \
	test -z "$(hdr c2 access-control-allow-origin)"
req c3 -H 'Origin: http://ui.example:8080' "$URL/api/nope"
check cors-on-errors "404 with Allow-Origin '$(hdr c3 access-control-allow-origin)'" \
	test "$code" = 404 -a "$(hdr c3 access-control-allow-origin)" = "*"
for p in /api/capture /api/topology /login /ws/subscriber /ui/ /nope; do
	n=pf$(echo "$p" | tr '/.' '__')
	req "$n" -X OPTIONS -H 'Origin: http://ui.example:8080' \
		-H 'Access-Control-Request-Method: DELETE' \
		-H 'Access-Control-Request-Headers: content-type, x-auth-token' "$URL$p"
	if [ "$code" = 200 ] && [ "$(hdr "$n" access-control-allow-origin)" = "*" ] &&
		[ "$(hdr "$n" access-control-allow-methods)" = DELETE ] &&
		[ "$(hdr "$n" access-control-allow-headers)" = "Content-Type,X-Auth-Token" ]; then
		ok "preflight $p"
	else
		ko "preflight $p" "$code $(tr '\n' ' ' <"$tmp/$n.h")"
	fi
done
req pf2 -X OPTIONS -H 'Origin: http://x' -H 'Access-Control-Request-Method: POST' \
	"$URL/api/topology"
check preflight-simple "POST: $code, Allow-Methods '$(hdr pf2 access-control-allow-methods)'" \
	test "$code" = 200 -a -z "$(hdr pf2 access-control-allow-methods)" \
	-a "$(hdr pf2 access-control-allow-origin)" = "*"
req pf3 -X OPTIONS -H 'Origin: http://x' -H 'Access-Control-Request-Method: PATCH' "$URL/api"
check preflight-bad-method "PATCH: $code" test "$code" = 405
req pf4 -X OPTIONS -H 'Origin: http://x' -H 'Access-Control-Request-Method: GET' \
	-H 'Access-Control-Request-Headers: X-Foo' "$URL/api"
check preflight-bad-header "X-Foo: $code" test "$code" = 403
req pf5 -X OPTIONS -H 'Origin: http://x' "$URL/api"
check preflight-no-method "no Access-Control-Request-Method: $code" test "$code" = 400
req pf6 -X OPTIONS "$URL/api/capture"
check options-no-origin "OPTIONS without Origin: $code, '$(hdr pf6 access-control-allow-origin)'" \
	test "$code" = 200 -a -z "$(hdr pf6 access-control-allow-origin)"

# ---- POST /login (noauth) --------------------------------------------------------
req l1 -H 'Origin: http://ui.example:8080' --data-urlencode 'username=bob' \
	--data-urlencode 'password=s3cr&t' "$URL/login"
check login "POST /login: $code $(head -c 200 "$tmp/l1.b")" cj "$code" 200 "$tmp/l1.b" \
	'j["Token"]=="" and {"Object":"capture","Action":"write","Allowed":True} in j["Permissions"] and all(set(p)=={"Object","Action","Allowed"} for p in j["Permissions"])'
check login-type "Content-Type '$(hdr l1 content-type)'" \
	test "$(hdr l1 content-type)" = "application/json; charset=UTF-8"
cookie=$(hdr l1 set-cookie)
b64=$(echo "$cookie" | sed -n 's/^permissions=\([^;]*\);.*Path=\/.*/\1/p')
echo "$b64" | base64 -d >"$tmp/perms.json" 2>/dev/null
check login-cookie "Set-Cookie '$(echo "$cookie" | head -c 80)...'" \
	cj 1 1 "$tmp/perms.json" "j==json.load(open('$tmp/l1.b'))['Permissions']"
check login-cors "Allow-Origin '$(hdr l1 access-control-allow-origin)', Credentials '$(hdr l1 access-control-allow-credentials)'" \
	test "$(hdr l1 access-control-allow-origin)" = http://ui.example:8080 \
	-a "$(hdr l1 access-control-allow-credentials)" = true
req l2 -d 'user=bob' "$URL/login"
check login-no-credentials "$code $(cat "$tmp/l2.b")" cj "$code" 401 "$tmp/l2.b" '"Error" in j' 
req l3 -H 'Content-Type: application/json' -d '{"username":"bob","password":"x"}' "$URL/login"
check login-bad-type "$code $(cat "$tmp/l3.b")" \
	cj "$code" 400 "$tmp/l3.b" '"x-www-form-urlencoded" in j["Error"]' 
req l4 -d 'username=%zz&password=x' "$URL/login"
check login-bad-escape "$code $(cat "$tmp/l4.b")" cj "$code" 400 "$tmp/l4.b" '"offset 9" in j["Error"]' 
req l5 "$URL/login"
check login-get-redirect "GET /login: $code '$(hdr l5 location)'" \
	test "$code" = 302 -a "$(hdr l5 location)" = /

# ---- configured origins ------------------------------------------------------------
kill "${pids[0]}" 2>/dev/null
wait "${pids[0]}" 2>/dev/null
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
SKYDIVE_HTTP_CORS_ALLOWED_ORIGINS="http://a.example http://b.example" \
	SKYDIVE_ANALYZER_DATA_DIR=$tmp/data "$SKYDIVE" analyzer --listen "127.0.0.1:$PORT" \
	2>"$tmp/analyzer2.log" &
pids+=($!)
for _ in $(seq 1 100); do
	curl -sf "$URL/api" >/dev/null 2>&1 && break
	sleep 0.1
done
req o1 -H 'Origin: http://b.example' "$URL/api"
check origins-listed "Allow-Origin '$(hdr o1 access-control-allow-origin)', Vary '$(hdr o1 vary)'" \
	test "$(hdr o1 access-control-allow-origin)" = http://b.example -a "$(hdr o1 vary)" = Origin
req o2 -H 'Origin: http://evil.example' "$URL/api"
check origins-other "Allow-Origin '$(hdr o2 access-control-allow-origin)'" \
	test "$code" = 200 -a -z "$(hdr o2 access-control-allow-origin)"
req o3 -X OPTIONS -H 'Origin: http://evil.example' -H 'Access-Control-Request-Method: DELETE' \
	"$URL/api/capture"
check origins-preflight-other "$code '$(hdr o3 access-control-allow-methods)'" \
	test "$code" = 200 -a -z "$(hdr o3 access-control-allow-methods)"
# a state-changing request from an origin not listed is refused (issue 9)
req o4 -H 'Origin: http://evil.example' -d 'username=a&password=b' "$URL/login"
check origins-login-other "$code Allow-Origin '$(hdr o4 access-control-allow-origin)'" \
	test "$code" = 403 -a -z "$(hdr o4 access-control-allow-origin)"
req o5 -H 'Origin: http://a.example' -d 'username=a&password=b' "$URL/login"
check origins-login-listed "$code" test "$code" = 200

# ---- default origins: none (same origin only) ----------------------------------------
kill "${pids[1]}" 2>/dev/null
wait "${pids[1]}" 2>/dev/null
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
SKYDIVE_ANALYZER_DATA_DIR=$tmp/data "$SKYDIVE" analyzer --listen "127.0.0.1:$PORT" \
	2>"$tmp/analyzer3.log" &
pids+=($!)
for _ in $(seq 1 100); do
	curl -sf "$URL/api" >/dev/null 2>&1 && break
	sleep 0.1
done
req d1 -H 'Origin: http://ui.example:8080' "$URL/api"
check default-origins-none "$code Allow-Origin '$(hdr d1 access-control-allow-origin)'" \
	test "$code" = 200 -a -z "$(hdr d1 access-control-allow-origin)"
req d2 -H 'Origin: http://ui.example:8080' -d 'username=a&password=b' "$URL/login"
check default-origins-login-403 "$code" test "$code" = 403
req d3 -H "Origin: $URL" -d 'username=a&password=b' "$URL/login"
check default-same-origin-login "$code" test "$code" = 200

kill "${pids[2]}" 2>/dev/null
wait "${pids[2]}" 2>/dev/null
if grep -E 'runtime error|Sanitizer|ERROR' "$tmp"/analyzer*.log >/dev/null; then
	ko sanitizer "$(grep -E 'runtime error|Sanitizer|ERROR' "$tmp"/analyzer*.log | head -3)"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
