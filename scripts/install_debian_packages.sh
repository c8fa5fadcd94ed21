#!/bin/sh
# Install the Debian packages the project needs that pip and npm cannot provide, when missing.
#   scripts/install_debian_packages.sh PACKAGE...
# Used by `make setup` (pango and a CJK font: the report renderer) and `make test` (socat makes
# virtual serial pairs for the Modbus RTU tests; mbpoll is the Modbus master nobody here wrote that
# reads the meter simulator; postgresql is the database server the ledger API's tests start on
# 127.0.0.1; poppler-utils and chromium check the rendered report). Already-installed packages cost
# one dpkg query each. Needs root, or password-less sudo, only when something is missing.
set -eu

missing=""
for package in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $package" ;;
    esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
else
    echo "install_debian_packages: missing Debian packages:$missing" >&2
    echo "install_debian_packages: run as root, or install them: apt-get install$missing" >&2
    exit 2
fi

echo "install_debian_packages: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$as_root apt-get update -qq
# shellcheck disable=SC2086 # one word per package
$as_root apt-get install -y -qq --no-install-recommends $missing >/dev/null
