# shellcheck shell=bash
# Shared set-up for the tests of FTP pull inboxes: private vsftpd servers on 127.0.0.1
# (plain, or TLS with a certificate made here by openssl), one throw-away account with a
# password that a PAM service of the test's own checks, and the protocol logged per server.
# It builds on sshd_lib.sh (the daemon, config, waits and remote files of the SFTP tests),
# which must be sourced first. Needs root (accounts, PAM, vsftpd).
for tool in /usr/sbin/vsftpd openssl chpasswd; do
    command -v "$tool" > /dev/null || fail "$tool is missing: run deploy/install-deps.sh --test"
done
[ -d /etc/pam.d ] || fail "no /etc/pam.d: vsftpd checks passwords through PAM"

declare -A FTPD_PORT=() FTPD_PID=() FTPD_TLS=()
FTPD_NAMES=()
FTP_USER="adftp$SUFFIX"
FTP_PASSWORD="pw-$SUFFIX-$RANDOM$RANDOM"
FTP_PASSWORD_FILE="$WORK/ftp_password"
FTP_PAM="actiondrop-ftp-pull-$SUFFIX"

ftp_cleanup() {
    set +e
    local name
    for name in "${FTPD_NAMES[@]}"; do [ -n "${FTPD_PID[$name]}" ] && kill_tree "${FTPD_PID[$name]}"; done
    rm -f "/etc/pam.d/$FTP_PAM"
    sftp_cleanup
}
trap ftp_cleanup EXIT

# The account every server logs in: a password (in $FTP_PASSWORD_FILE, mode 0600, for the
# inboxes), no shell, checked by pam_unix alone.
useradd --no-create-home --home-dir / --shell /usr/sbin/nologin "$FTP_USER" || fail "cannot create the account $FTP_USER"
ACCOUNTS+=("$FTP_USER")
echo "$FTP_USER:$FTP_PASSWORD" | chpasswd || fail "chpasswd failed"
printf 'auth required pam_unix.so\naccount required pam_unix.so\n' > "/etc/pam.d/$FTP_PAM"
printf '%s\n' "$FTP_PASSWORD" > "$FTP_PASSWORD_FILE"
chmod 0600 "$FTP_PASSWORD_FILE"

# ftpd_setup NAME [tls]: a server's folder $WORK/ftpd-NAME with its config, a free port
# and 20 passive ports; with "tls", a certificate for 127.0.0.1 (cert.pem, also the
# inbox's ca_file) and a second one it does not use (other.pem), and TLS required for
# logins and data.
ftpd_setup() {
    local name=$1 dir="$WORK/ftpd-$1"
    mkdir -p "$dir/empty"
    chmod 0755 "$dir" "$dir/empty"
    FTPD_PORT[$name]=$(free_port)
    FTPD_PID[$name]=""
    FTPD_TLS[$name]=${2:-}
    FTPD_NAMES+=("$name")
    # Passive ports: one per data connection at a time, and each inbox has its own.
    local pasv
    pasv=$(python3 - <<'PY'
import random, socket
for _ in range(200):
    base = random.randrange(20000, 60000)
    socks = []
    try:
        for p in range(base, base + 20):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(base); break
PY
)
    [ -n "$pasv" ] || fail "no free range of passive ports on 127.0.0.1"
    cat > "$dir/vsftpd.conf" <<CFG
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=${FTPD_PORT[$name]}
background=NO
seccomp_sandbox=NO
secure_chroot_dir=$dir/empty
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
pam_service_name=$FTP_PAM
userlist_enable=NO
chroot_local_user=NO
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port=$pasv
pasv_max_port=$((pasv + 19))
port_enable=NO
connect_from_port_20=NO
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
vsftpd_log_file=$dir/vsftpd.log
max_per_ip=100
max_clients=100
CFG
    if [ "${2:-}" = tls ]; then
        for c in cert other; do
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
                -addext subjectAltName=IP:127.0.0.1 -keyout "$dir/$c.key" -out "$dir/$c.pem" 2> /dev/null \
                || fail "openssl could not make a certificate"
        done
        cat >> "$dir/vsftpd.conf" <<CFG
ssl_enable=YES
rsa_cert_file=$dir/cert.pem
rsa_private_key_file=$dir/cert.key
force_local_logins_ssl=YES
force_local_data_ssl=YES
ssl_ciphers=HIGH
require_ssl_reuse=YES
CFG
    fi
    : > "$dir/vsftpd.log"
    : > "$dir/stderr.log"
}

ftpd_dir() { echo "$WORK/ftpd-$1"; }

# ftpd_start NAME: starts (or restarts) the server and waits until it accepts.
ftpd_start() {
    local name=$1 dir="$WORK/ftpd-$1"
    setsid /usr/sbin/vsftpd "$dir/vsftpd.conf" >> "$dir/stderr.log" 2>&1 &
    FTPD_PID[$name]=$!
    disown
    local deadline=$((SECONDS + 20))
    until timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/${FTPD_PORT[$name]}" 2> /dev/null; do
        if [ $SECONDS -ge $deadline ] || ! kill -0 "${FTPD_PID[$name]}" 2> /dev/null; then
            cat "$dir/stderr.log" >&2; fail "vsftpd $name did not start on port ${FTPD_PORT[$name]}"
        fi
        sleep 0.05
    done
}

# ftpd_stop NAME: the listener and every connection it serves, at once.
ftpd_stop() {
    local name=$1
    [ -n "${FTPD_PID[$name]}" ] || return 0
    kill_tree "${FTPD_PID[$name]}"
    FTPD_PID[$name]=""
}

ftpd_up() {
    ftpd_setup "$@"
    ftpd_start "$1"
}

# ftpd_sha256 NAME [CERT]: the SHA-256 fingerprint of the server's certificate (or of
# other.pem with CERT=other), as openssl prints it (colons, upper case).
ftpd_sha256() {
    openssl x509 -noout -fingerprint -sha256 -in "$WORK/ftpd-$1/${2:-cert}.pem" | cut -d= -f2
}

# Counts from a server's protocol log (all runs): connections accepted, commands sent.
ftpd_connections() { grep -c 'CONNECT: Client "127.0.0.1"' "$WORK/ftpd-$1/vsftpd.log" || true; }
# ftpd_commands NAME WORDS: commands that start with WORDS ("USER", "RETR /path/x.csv").
ftpd_commands() { grep -cF "FTP command: Client \"127.0.0.1\", \"$2" "$WORK/ftpd-$1/vsftpd.log" || true; }
ftp_retrs() { ftpd_commands "$1" "RETR $2\""; }
ftp_listings() { ftpd_commands "$1" "LIST $2\""; }

# ftp_inbox NAME SERVER FOLDER RESULT_FOLDER ["KEY: VALUE"]...: an item of the config's
# inboxes, like sftp_inbox: account 1000 (conversions), FOLDER on server SERVER as
# $FTP_USER with $FTP_PASSWORD_FILE, polled every second with settle 1s; plain FTP
# (tls: none) on a server without TLS, explicit TLS with the server's certificate as
# ca_file on one with it.
ftp_inbox() {
    local name=$1 server=$2 folder=$3 result=$4 arg key
    shift 4
    local -A field=([user]=$FTP_USER [password_file]=$FTP_PASSWORD_FILE [poll_interval]=1s [settle]=1s)
    local keys=(user password_file poll_interval settle tls ca_file)
    if [ "${FTPD_TLS[$server]}" = tls ]; then
        field[tls]=explicit
        field[ca_file]="$(ftpd_dir "$server")/cert.pem"
    else
        field[tls]=none
    fi
    for arg in "$@"; do
        key=${arg%%:*}
        [ -n "${field[$key]+set}" ] || keys+=("$key")
        field[$key]=${arg#*: }
        if [ "$key" = sha256 ]; then unset 'field[ca_file]'; fi
    done
    printf '  - {name: %s, account: "1000", type: conversions, kind: ftp, host: 127.0.0.1, port: %s,\n' \
        "$name" "${FTPD_PORT[$server]}"
    printf '     folder: %s, result_folder: %s' "$folder" "$result"
    for key in "${keys[@]}"; do
        if [ -n "${field[$key]+set}" ]; then printf ', %s: %s' "$key" "${field[$key]}"; fi
    done
    printf '}\n'
}

# show_logs (what wait_for prints when it gives up) shows each server's protocol log too.
eval "sshd_$(declare -f show_logs)"
show_logs() {
    local f
    for f in "$WORK"/ftpd-*/vsftpd.log "$WORK"/ftpd-*/stderr.log; do
        [ -s "$f" ] || continue
        echo "--- $f (last 40 lines):" >&2
        tail -n 40 "$f" >&2
    done
    sshd_show_logs
}
