# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ppctl_global_optspecs
    string join \n color= h/help V/version
end

function __fish_ppctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ppctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ppctl_using_subcommand
    set -l cmd (__fish_ppctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ppctl -n "__fish_ppctl_needs_command" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_needs_command" -s V -l version -d 'Print version'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "inspect" -d 'Decode and explain bytes: is this a valid PROXY header, and what would receivers do?'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "pcap" -d 'Find every PROXY header in a capture, pair it with the server\'s answer, and give a verdict per flow'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "completions" -d 'Print shell completions to stdout'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "man" -d 'Write the man page (docs/ppctl.1 by default)'
complete -c ppctl -n "__fish_ppctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ppctl -n "__fish_ppctl_using_subcommand inspect" -s f -l file -d 'Read the bytes from a file (raw, or hex text)' -r -F
complete -c ppctl -n "__fish_ppctl_using_subcommand inspect" -l sample -d 'Inspect a built-in sample: v1, v2, aws-nlb, health-check, broken, http' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand inspect" -l encoding -d 'How to read the input; the default guesses hex vs text/raw' -r -f -a "auto\t'Hex if it looks like hex, else escaped text (argument) or raw bytes (file, stdin)'
hex\t'Hex digits; whitespace, `0x`, `:`, `-` and `\\x` separators are ignored'
text\t'Text with \\r \\n \\t \\0 \\\\ \\xNN escapes (for an argument)'
raw\t'The bytes as they are (for a file or stdin)'"
complete -c ppctl -n "__fish_ppctl_using_subcommand inspect" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_using_subcommand inspect" -l json -d 'Print one JSON object (schema in docs/json.md)'
complete -c ppctl -n "__fish_ppctl_using_subcommand inspect" -l eof -d 'Treat the input as everything there will ever be: a header cut short is reported as truncated (invalid), not as incomplete'
complete -c ppctl -n "__fish_ppctl_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l verdict -d 'Report only flows with these verdicts (comma-separated or repeated)' -r -f -a "proxied\t'A valid header, and the server answered normally'
unexpected-header\t'A header was sent and the receiver treated it as data (HTTP 400, TLS alert, hang-up)'
missing-header\t'No header, and the server closed or reset without answering'
invalid-header\t'The client sent a header that breaks the spec'
health-check\t'A LOCAL header, or a connect-and-close'
plain\t'No header, normal traffic'
incomplete\t'The start or the end of the flow is not in the capture'"
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l client -d 'Report only flows whose client matches: CIDR, address, port (443 or :443) or address:port' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l server -d 'Report only flows whose server matches: CIDR, address, port or address:port' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l limit -d 'Stop after this many reported flows' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l max-bytes -d 'Bytes reassembled per direction of each flow (enough for the header and the start of the answer)' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l max-flows -d 'Flows tracked at once; the least recently seen are decided early beyond it' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l idle-timeout -d 'Seconds (capture time) without a packet after which a flow is decided with what was seen' -r
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l json -d 'Print one JSON object per flow, then a summary object (docs/json.md)'
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l summary -d 'Print only the summary'
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -l explain -d 'Add the reason for each verdict; problems come with cause and fix'
complete -c ppctl -n "__fish_ppctl_using_subcommand pcap" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_using_subcommand completions" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_using_subcommand man" -s o -l output -d 'Where to write the roff page; `-` for stdout' -r -F
complete -c ppctl -n "__fish_ppctl_using_subcommand man" -l color -d 'When to use color: auto (a terminal, and NO_COLOR unset), always, never' -r -f -a "auto\t'Color when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c ppctl -n "__fish_ppctl_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect pcap completions man help" -f -a "inspect" -d 'Decode and explain bytes: is this a valid PROXY header, and what would receivers do?'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect pcap completions man help" -f -a "pcap" -d 'Find every PROXY header in a capture, pair it with the server\'s answer, and give a verdict per flow'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect pcap completions man help" -f -a "completions" -d 'Print shell completions to stdout'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect pcap completions man help" -f -a "man" -d 'Write the man page (docs/ppctl.1 by default)'
complete -c ppctl -n "__fish_ppctl_using_subcommand help; and not __fish_seen_subcommand_from inspect pcap completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
