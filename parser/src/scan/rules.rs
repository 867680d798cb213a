//! The built-in rule table (SPEC §4.2). Pattern ids are stable API.
//!
//! Each regex is written from what the threat looks like in the wild (flag orders, quoting,
//! spacing, path separators, encodings handled upstream by `decode`), starts with one of its
//! literals, and has a bounded length.

use super::checks;
use super::credentials;
use super::exfil_command;
use super::rule::{Boundary, Direction, Platform, RuleSpec, Severity, ThreatType};

struct Builtin {
    id: &'static str,
    threat: ThreatType,
    severity: Severity,
    platform: Option<Platform>,
    /// Case-sensitive anchors.
    literals: &'static [&'static str],
    /// ASCII case-insensitive anchors (PowerShell and cmd are case-insensitive).
    ci_literals: &'static [&'static str],
    regex: &'static str,
    boundary: Boundary,
    check: super::rule::Check,
}

const EXFIL: ThreatType = ThreatType::Exfil;
const INJECTION: ThreatType = ThreatType::Injection;

const BUILTINS: &[Builtin] = &[
    Builtin {
        id: "ai_api_key",
        threat: EXFIL,
        severity: Severity::High,
        platform: None,
        literals: &[
            "sk-", "AIza", "hf_", "gsk_", "xai-", "pplx-", "r8_", "tgp_v1_",
        ],
        ci_literals: &[],
        regex: r"sk-ant-(?:api03|admin01|oat01|sid01)-[A-Za-z0-9_-]{20,200}|sk-or-v1-[A-Za-z0-9]{32,128}|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}|AIza[A-Za-z0-9_-]{35}|hf_[A-Za-z]{34}|gsk_[A-Za-z0-9]{40,64}|xai-[A-Za-z0-9]{40,128}|pplx-[A-Za-z0-9]{40,64}|r8_[A-Za-z0-9]{30,64}|tgp_v1_[A-Za-z0-9_-]{30,80}",
        boundary: Boundary::NotToken,
        check: checks::ai_api_key,
    },
    Builtin {
        id: "aws_access_key_id",
        threat: EXFIL,
        severity: Severity::High,
        platform: None,
        literals: &["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
        ci_literals: &[],
        regex: r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}",
        boundary: Boundary::NotAlnum,
        check: checks::aws_access_key_id,
    },
    Builtin {
        id: "private_key_pem",
        threat: EXFIL,
        severity: Severity::Critical,
        platform: None,
        literals: &["-----BEGIN "],
        ci_literals: &[],
        // The armour line must be followed by key material (or PEM headers), so a document
        // that merely names the format is not a key.
        regex: r"-----BEGIN (?:[A-Z0-9]{1,32} ){0,3}PRIVATE KEY(?: BLOCK)?-----(?:[ \t\r\n]|\\[rn]){1,8}(?:[A-Za-z0-9+/=]{16}|[A-Za-z-]{2,40}: )",
        boundary: Boundary::Any,
        check: |_| true,
    },
    Builtin {
        id: "ssh_key_path",
        threat: EXFIL,
        severity: Severity::High,
        platform: None,
        literals: &["/id_", "\\id_"],
        ci_literals: &[],
        regex: r"[/\\]id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?(?:[_-][A-Za-z0-9_-]{1,40})?(?:\.[A-Za-z0-9]{1,10})?",
        boundary: Boundary::Any,
        check: checks::ssh_key_path,
    },
    Builtin {
        id: "sensitive_unix_path",
        threat: EXFIL,
        severity: Severity::Medium,
        platform: None,
        literals: &[
            "/etc/",
            "/proc/",
            "/.bash_history",
            "/.zsh_history",
            "/.sh_history",
            "/.history",
            "/.python_history",
            "/.mysql_history",
            "/.psql_history",
            "/.node_repl_history",
            "/.sqlite_history",
            "/.rediscli_history",
        ],
        ci_literals: &[],
        regex: r"/etc/(?:g?shadow|sudoers(?:\.d/[A-Za-z0-9_.-]{1,64})?|passwd|master\.passwd|security/opasswd)-?|/proc/(?:self|thread-self|[0-9]{1,10})/environ|/\.(?:bash_|zsh_|sh_|python_|mysql_|psql_|node_repl_|sqlite_|rediscli_)?history",
        boundary: Boundary::Any,
        check: checks::sensitive_unix_path,
    },
    Builtin {
        id: "credential_path",
        threat: EXFIL,
        severity: Severity::High,
        platform: None,
        literals: &[
            "/.env",
            "\\.env",
            "=.env",
            "\".env",
            "'.env",
            "/.netrc",
            "\\.netrc",
            "/_netrc",
            "\\_netrc",
            "/.git-credentials",
            "\\.git-credentials",
            "/.npmrc",
            "\\.npmrc",
            "/.pypirc",
            "\\.pypirc",
            ".aws",
            ".azure",
            ".kube",
            ".docker",
            "application_default_credentials",
            "gcloud",
        ],
        ci_literals: &[],
        regex: r#"[/\\="']\.env(?:\.[A-Za-z0-9_-]{1,32})?|[/\\][._]netrc|[/\\]\.git-credentials|[/\\]\.npmrc|[/\\]\.pypirc|\.aws[/\\](?:credentials|config|sso[/\\]cache[/\\][A-Za-z0-9_.-]{1,80})|application_default_credentials\.json|\.azure[/\\][A-Za-z0-9_.-]{1,80}|\.kube[/\\]config|\.docker[/\\]config\.json|gcloud[/\\](?:credentials\.db|access_tokens\.db|legacy_credentials)"#,
        boundary: Boundary::Any,
        check: checks::credential_path,
    },
    Builtin {
        id: "gateway_token_path",
        threat: EXFIL,
        severity: Severity::High,
        platform: Some(Platform::Picoclaw),
        literals: &[".picoclaw", "launcher-", "picoclaw_ed25519"],
        ci_literals: &[],
        regex: r"\.picoclaw[/\\](?:config\.json|auth\.json|\.picoclaw\.pid|\.security\.yml)|launcher-config\.json|launcher-auth\.db|picoclaw_ed25519\.key",
        boundary: Boundary::NotAlnum,
        check: checks::not_glued_before,
    },
    Builtin {
        id: "whatsapp_session_path",
        threat: EXFIL,
        severity: Severity::High,
        platform: Some(Platform::Nanoclaw),
        literals: &["store/", "store\\"],
        ci_literals: &[],
        regex: r"store[/\\]auth[/\\][A-Za-z0-9_.:-]{1,120}\.json|store[/\\]pairing-code\.txt",
        boundary: Boundary::NotAlnum,
        check: checks::not_glued_before,
    },
    Builtin {
        id: "chat_platform_token",
        threat: EXFIL,
        severity: Severity::High,
        platform: None,
        // Telegram bot tokens are `<bot id>:<35 characters>`, and the secret half starts with
        // `AA` (it encodes a small integer first): the match starts at `:AA`, the check reads
        // the bot id before it. Discord bot tokens have no prefix of their own: they are found
        // after `Bot ` (their Authorization scheme) or beside a `discord` keyword.
        literals: &[
            ":AA",
            "Bot ",
            "discord",
            "DISCORD",
            "xox",
            "xapp-",
            "hooks.slack.com",
            "oapi.dingtalk.com",
            "open.feishu.cn",
            "open.larksuite.com",
            "qyapi.weixin.qq.com",
        ],
        ci_literals: &[],
        regex: r#":AA[A-Za-z0-9_-]{33}|Bot[ \t]{1,4}[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}|(?:discord|DISCORD)(?:app)?\.com/api/(?:v[0-9]{1,2}/)?webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,80}|(?:discord|DISCORD)[A-Za-z0-9_]{0,32}["']?[ \t]{0,8}[:=][ \t]{0,8}["']?(?:Bot[ \t]{1,4})?[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}|xox(?:e\.xox[bp]|[abeoprs])-[0-9]{1,16}-[A-Za-z0-9-]{8,250}|xapp-[0-9]{1,2}-[A-Z0-9]{6,16}-[0-9]{6,16}-[A-Za-z0-9]{32,80}|hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,12}/[A-Za-z0-9]{6,16}/[A-Za-z0-9_/-]{16,80}|oapi\.dingtalk\.com/robot/send\?access_token=[a-f0-9]{64}|open\.(?:feishu\.cn|larksuite\.com)/open-apis/bot/v2/hook/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|qyapi\.weixin\.qq\.com/cgi-bin/webhook/send\?key=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"#,
        boundary: Boundary::Any,
        check: credentials::chat_platform_token,
    },
    Builtin {
        id: "code_host_token",
        threat: EXFIL,
        severity: Severity::High,
        platform: None,
        // GitLab has more prefixes (feed, incoming-mail, SCIM, feature-flag tokens); these are
        // the ones that grant API, repository, registry or runner access.
        literals: &[
            "ghp_",
            "gho_",
            "ghu_",
            "ghs_",
            "ghr_",
            "github_pat_",
            "glpat-",
            "gloas-",
            "gldt-",
            "glrt-",
            "glcbt-",
            "glptt-",
            "glagent-",
        ],
        ci_literals: &[],
        regex: r"gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{80,240}|gl(?:pat|oas|dt|rt|cbt|ptt|agent)-[A-Za-z0-9_.-]{20,255}",
        boundary: Boundary::NotToken,
        check: credentials::prefixed_token,
    },
    Builtin {
        id: "package_registry_token",
        threat: EXFIL,
        severity: Severity::High,
        platform: None,
        // PyPI tokens are macaroons whose first bytes encode the issuer (`pypi.org`, or
        // `test.pypi.org`): both start `pypi-AgE`. crates.io tokens are `cio` + 32 letters
        // and digits.
        literals: &["npm_", "pypi-AgE", "dckr_", "cio"],
        ci_literals: &[],
        regex: r"npm_[A-Za-z0-9]{36}|pypi-AgE[A-Za-z0-9_-]{50,1000}|dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,80}|cio[A-Za-z0-9]{32}",
        boundary: Boundary::NotToken,
        check: credentials::prefixed_token,
    },
    Builtin {
        id: "cloud_service_key",
        threat: EXFIL,
        severity: Severity::High,
        platform: None,
        // Keys without a prefix of their own (Twilio auth tokens, AWS secret access keys) are
        // found beside their keyword only. `ecretAccessKey` covers `SecretAccessKey` and
        // `secretAccessKey` with one literal (the check reads the letter before).
        literals: &[
            "sk_live_",
            "rk_live_",
            "SG.",
            "twilio",
            "TWILIO",
            "dop_v1_",
            "doo_v1_",
            "api_org_",
            "ABSKQmVkcm9ja0FQSUtleS",
            "bedrock-api-key-",
            "GOCSPX-",
            "secret_access_key",
            "SECRET_ACCESS_KEY",
            "ecretAccessKey",
        ],
        ci_literals: &[],
        regex: r#"[sr]k_live_[A-Za-z0-9]{24,247}|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}|(?:twilio|TWILIO)[A-Za-z0-9_]{0,40}["']?[ \t]{0,8}[:=][ \t]{0,8}["']?(?:SK[0-9a-fA-F]{32}|[0-9a-f]{32})|do[op]_v1_[a-f0-9]{64}|api_org_[A-Za-z0-9]{34}|ABSKQmVkcm9ja0FQSUtleS[A-Za-z0-9+/]{40,400}={0,2}|bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[A-Za-z0-9+/=%_-]{40,1800}|GOCSPX-[A-Za-z0-9_-]{28}|(?:secret_access_key|SECRET_ACCESS_KEY|ecretAccessKey)["']?[ \t]{0,8}[:=][ \t]{0,8}["']?[A-Za-z0-9/+]{40}"#,
        boundary: Boundary::Any,
        check: credentials::cloud_service_key,
    },
    Builtin {
        id: "database_url_credential",
        threat: EXFIL,
        severity: Severity::High,
        platform: None,
        literals: &["postgres", "mysql", "mariadb", "mongodb", "redis", "amqp"],
        ci_literals: &[],
        // The host is optional so that redaction also hides a password whose host the snippet
        // edge cut off; the check requires the `@` (no user info, no finding).
        regex: r#"(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?)(?:\+[A-Za-z0-9_]{1,20})?://[^\s:/@"'<>]{0,64}:[^\s/@"'<>]{1,128}(?:@[A-Za-z0-9._\[\]-]{0,253})?"#,
        boundary: Boundary::NotAlnum,
        check: credentials::database_url,
    },
    Builtin {
        id: "pipe_to_shell",
        threat: INJECTION,
        severity: Severity::High,
        platform: None,
        literals: &["curl", "wget", "fetch", "base64", "xxd"],
        ci_literals: &[
            "iex",
            "invoke-expression",
            "iwr",
            "irm",
            "invoke-webrequest",
            "invoke-restmethod",
        ],
        regex: r#"(?:(?:curl|wget)(?:\.exe)?[ \t]|(?:base64(?:\.exe)?(?:[ \t]{1,8}(?:--?[A-Za-z][A-Za-z-]{0,24}|[^\s|;&`)\-][^\s|;&`)]{0,47})){0,3}?[ \t]{1,8}(?:-[A-Za-z]{0,4}[dD][A-Za-z]{0,4}|--decode)|xxd(?:[ \t]{1,8}-[A-Za-z]{1,8}){0,3}?[ \t]{1,8}-[A-Za-z]{0,3}r[A-Za-z]{0,3})[ \t]?)(?:[^\n|;&`)]|\\\r?\n){0,240}?(?:\|[^\n|;&`)]{1,120}){0,2}?\|(?:[ \t]|\\?\r?\n){0,16}(?:(?:sudo|doas)(?:[ \t]{1,8}--?[A-Za-z][A-Za-z-]{0,31}(?:[ \t=]{1,8}[A-Za-z0-9_.:-]{1,32})?){0,4}[ \t]{1,8})?(?:(?:/usr/bin/|/bin/)?env(?:[ \t]{1,8}-[A-Za-z]{1,8}){0,4}[ \t]{1,8}(?:[A-Za-z_][A-Za-z0-9_]{0,32}=\S{0,48}[ \t]{1,8}){0,3})?(?:/usr/local/bin/|/usr/bin/|/bin/)?(?:busybox[ \t]{1,8})?(?:(?:ba|z|da|k|a)?sh|python[23]?(?:\.[0-9]{1,2})?|perl|ruby|node|php|(?i:powershell|pwsh)(?i:\.exe)?|(?i:iex|invoke-expression))|(?:curl|wget)(?:\.exe)?[ \t](?:[^\n|;&`)]|\\\r?\n){0,240}?\|(?:[ \t]|\\?\r?\n){0,16}(?:sudo|doas)(?:[ \t]{1,8}-[A-Za-z]{1,8}){0,3}?[ \t]{1,8}-[A-Za-z]{0,4}s[A-Za-z]{0,4}|(?:curl|wget)(?:\.exe)?[ \t][^)`\n]{1,300}[)`]|fetch[ \t]{1,32}-[^\n|;&]{0,300}?\|[ \t]{0,32}(?:sudo[ \t]{1,32})?(?:/bin/)?(?:ba|z|k)?sh|(?i:iex|invoke-expression)[ \t]{0,32}\(?[ \t]{0,32}(?i:\(?[ \t]{0,32}New-Object[ \t]{1,32}(?:System\.)?Net\.WebClient\)?\.DownloadString|iwr|irm|Invoke-WebRequest|Invoke-RestMethod|curl|wget)|(?i:iwr|irm|invoke-webrequest|invoke-restmethod)[ \t][^\n|;]{0,300}?\|[ \t]{0,32}(?i:iex|invoke-expression)"#,
        boundary: Boundary::NotNameChar,
        check: checks::pipe_to_shell,
    },
    Builtin {
        id: "shell_exec_flag",
        threat: INJECTION,
        severity: Severity::Medium,
        platform: None,
        literals: &[
            "sh ", "sh\t", "bash", "zsh", "dash", "ksh", "python", "perl", "ruby", "node",
        ],
        ci_literals: &["powershell", "pwsh", "cmd", "php -r", "php.exe"],
        regex: r#"(?:(?:ba|z|da|k)sh(?:\.exe)?|sh)(?:[ \t]{1,32}(?:--?[A-Za-z][A-Za-z-]{0,32}|[+-]o[ \t]{1,32}[a-z]{1,32})){0,8}?[ \t]{1,32}-[A-Za-z]{0,32}c[A-Za-z]{0,32}[ \t]{1,32}[^\s]|python(?:[23](?:\.[0-9]{1,2})?)?(?:\.exe)?(?:[ \t]{1,32}-[A-Za-z]{1,32}){0,8}?[ \t]{1,32}-[A-Za-z]{0,32}c[ \t]{0,32}["'A-Za-z_(]|perl(?:[ \t]{1,32}-[A-Za-z:=]{1,32}){0,8}?[ \t]{1,32}-[A-Za-z]{0,32}[eE][ \t]{0,32}["'A-Za-z$]|ruby(?:[ \t]{1,32}-[A-Za-z]{1,32}){0,8}?[ \t]{1,32}-[A-Za-z]{0,32}e[ \t]{0,32}["'A-Za-z$]|node(?:js)?(?:\.exe)?(?:[ \t]{1,32}--?[A-Za-z][A-Za-z-]{0,32}){0,8}?[ \t]{1,32}(?:-e|--eval|-p|--print|-pe)[ \t=]{0,32}(?:\\?"[^"\n]{0,400}"|'[^'\n]{0,400}'|["'A-Za-z(])|(?i:powershell|pwsh)(?i:\.exe)?(?:[ \t]{1,32}[-/][A-Za-z]{1,32}(?:[ \t]{1,32}[A-Za-z]{1,32})?){0,8}?[ \t]{1,32}[-/](?i:e|ec|enc[a-z]{0,32}|c|com[a-z]{0,32})[ \t]{1,32}\S|(?i:cmd)(?i:\.exe)?(?:[ \t]{1,32}/[A-Za-z](?::[A-Za-z]{1,32})?){0,8}?[ \t]{1,32}/[cCkK][ \t]{1,32}\S|php(?:\.exe)?[ \t]{1,32}-r[ \t]{0,32}["'$A-Za-z]"#,
        boundary: Boundary::NotNameChar,
        check: checks::shell_exec_flag,
    },
    Builtin {
        id: "reverse_shell",
        threat: INJECTION,
        severity: Severity::Critical,
        platform: None,
        literals: &[
            "/dev/tcp/",
            "/dev/udp/",
            "nc ",
            "nc\t",
            "nc.exe",
            "ncat",
            "netcat",
            "mkfifo",
            "mknod",
            "socat",
            "socket.socket",
            "fsockopen",
            "TCPSocket.",
            "IO::Socket::INET",
            "PF_INET",
            "AF_INET",
            // gawk's `/inet/tcp/…` and `/inet/udp/…` share one anchor: it keeps the inbound
            // case-sensitive literals at 32, which `aho-corasick` searches with slim Teddy
            // (32 bytes a step) instead of fat (16).
            "/inet/",
            "connect((",
            "socket.tcp",
            // Node's `net.Socket` / `net.connect` / `net.createConnection` and Go's
            // `net.Dial` share one anchor (the literal count above).
            "net.",
            "ztcp",
            "telnet",
            "s_client",
        ],
        ci_literals: &[
            "system.net.sockets.tcpclient",
            "net.sockets.tcpclient",
            "nc.traditional",
            "nc.openbsd",
        ],
        regex: r#"/dev/(?:tcp|udp)/[A-Za-z0-9.:_-]{1,253}/[0-9]{1,5}|(?:nc|ncat|netcat)(?:\.exe|\.traditional|\.openbsd)?[ \t](?:[^\n|;&]{0,200}?[ \t])?(?:-[A-Za-z]{0,32}[ec][A-Za-z]{0,32}|--exec|--sh-exec|--lua-exec)(?:[ \t=]|$)|(?:mkfifo|mknod)[ \t][\s\S]{0,300}?(?:(?:nc|ncat|netcat|telnet|openssl[ \t]{1,32}s_client)[ \t][^\n]{0,200}?\|[ \t]{0,32}(?:/usr)?(?:/bin/)?(?:ba|z|da)?sh(?:[^A-Za-z0-9_.-]|\z)|[\s|;&(/](?:ba|z|da)?sh[ \t][^\n]{0,200}?\|[ \t]{0,32}(?:nc|ncat|netcat|telnet|openssl[ \t]{1,32}s_client)[ \t])|socat[ \t][^\n]{0,300}?(?i:exec|system):|(?:socket\.socket|fsockopen|TCPSocket\.(?:open|new)|IO::Socket::INET|PF_INET|AF_INET)[\s\S]{0,400}?(?:dup2[ \t]{0,4}\(|pty\.spawn|subprocess\.|Popen|IO\.popen|spawn[ \t]{0,4}\(|exec[ \t]{0,32}\(|exec[ \t]{1,32}["'/]|system[ \t]{0,32}(?:\(|\$_)|fdopen[ \t]{0,4}\(|shell_exec|passthru|proc_open|popen[ \t]{0,4}\(|/bin/(?:ba|z|da)?sh|cmd\.exe|open[ \t]{0,4}\([ \t]{0,4}STDIN)|connect\(\([^()\n]{1,300}\)\)[\s\S]{0,400}?(?:dup2[ \t]{0,4}\(|pty\.spawn|fileno\(\)|["'](?:/usr)?/bin/(?:ba|z|da)?sh["']|["']cmd(?:\.exe)?["']|(?:call|Popen|run|spawn|system|popen|check_output)\([^)\n]{0,120}?(?:["'/\\](?:ba|z|da)?sh["' ]|cmd(?:\.exe)?["']|powershell(?:\.exe)?["']))|socket\.tcp[\s\S]{0,400}?(?:os\.execute|io\.popen)|(?:net\.Socket|net\.connect|net\.createConnection)[\s\S]{0,400}?(?:\.pipe\([ \t]{0,4}[A-Za-z_$][A-Za-z0-9_$]{0,32}\.stdin|spawn\([ \t]{0,4}["'](?:/bin/)?(?:ba|z|da)?sh|spawn\([ \t]{0,4}["']cmd(?:\.exe)?)|(?i:(?:system\.)?net\.sockets\.tcpclient)[\s\S]{0,500}?(?i:getstream)|/inet/(?:tcp|udp)/[0-9]{1,32}/|telnet[ \t]{1,32}\S{1,128}[ \t]{1,32}[0-9]{1,5}(?:[ \t]{1,32}[0-9]?[<>]{1,2}[ \t]{0,4}\S{1,128}){0,3}[ \t]{0,32}\|[ \t]{0,32}(?:/bin/)?(?:ba|z|da)?sh|s_client[^\n|]{0,200}\|[ \t]{0,32}(?:/bin/)?(?:ba|z)?sh|TCPSocket\.(?:open|new)|net\.Dial(?:Timeout)?\([ \t]{0,8}["'`](?:tcp|udp)[46]?["'`][\s\S]{0,400}?exec\.Command(?:Context)?\([^)\n]{0,40}?["'`](?:(?:/usr)?/bin/)?(?:(?:ba|z|da|k)?sh|cmd(?:\.exe)?|powershell(?:\.exe)?)["'`]|ztcp[ \t]{1,32}(?:-[A-Za-z]{1,4}[ \t]{1,32})?[A-Za-z0-9.:_-]{1,253}[ \t]{1,32}[0-9]{1,5}[\s\S]{0,300}?[0-9]?[<>]{1,2}&[ \t]{0,4}\$\{?[A-Za-z_]"#,
        boundary: Boundary::Any,
        check: checks::reverse_shell,
    },
    Builtin {
        id: "exfil_command",
        threat: INJECTION,
        severity: Severity::Critical,
        platform: None,
        literals: &[
            "curl", "wget", "nc ", "nc\t", "nc.exe", "ncat", "netcat", "socat",
        ],
        // Case-insensitive anchors keep the case-sensitive inbound set at 32 (slim Teddy).
        ci_literals: &[
            "iwr",
            "irm",
            "invoke-webrequest",
            "invoke-restmethod",
            "nc.traditional",
            "nc.openbsd",
            "scp",
            "rsync",
        ],
        regex: concat!(
            exfil_command::self_contained!(),
            "|",
            exfil_command::secret_variable!(),
            "|",
            exfil_command::stdin_sink!()
        ),
        boundary: Boundary::NotNameChar,
        check: exfil_command::check,
    },
    Builtin {
        id: "destructive_rm",
        threat: INJECTION,
        severity: Severity::High,
        platform: None,
        literals: &["rm ", "rm\t"],
        ci_literals: &[],
        regex: r#"rm(?:[ \t]{1,32}(?:"[^"\n]{0,100}"|'[^'\n]{0,100}'|[^\s;&|<>()"'`]{1,100})){1,12}"#,
        boundary: Boundary::NotNameChar,
        check: checks::destructive_rm,
    },
    Builtin {
        id: "ssh_authorized_keys_injection",
        threat: INJECTION,
        severity: Severity::Critical,
        platform: None,
        literals: &["authorized_keys"],
        ci_literals: &[],
        regex: r"authorized_keys2?",
        boundary: Boundary::Any,
        check: checks::authorized_keys_write,
    },
];

/// Every built-in rule, in table order.
pub fn builtin_rules() -> Vec<RuleSpec> {
    BUILTINS
        .iter()
        .map(|b| RuleSpec {
            id: b.id.to_string(),
            threat: b.threat,
            direction: match b.threat {
                ThreatType::Exfil => Direction::Outbound,
                ThreatType::Injection => Direction::Inbound,
            },
            severity: b.severity,
            platform: b.platform,
            literals: b.literals.iter().map(|l| l.to_string()).collect(),
            ci_literals: b.ci_literals.iter().map(|l| l.to_string()).collect(),
            regex: b.regex.to_string(),
            boundary: b.boundary,
            check: Some(b.check),
            consumes_rejected: b.id == "destructive_rm",
        })
        .collect()
}

/// The ids of the built-in rules.
pub fn builtin_ids() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|b| b.id)
}
