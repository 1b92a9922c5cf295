# bash completion for devpass(1) and devpassd(8)            -*- shell-script -*-
#
# Subcommands and their options (the options each command uses, as
# devpass(1) lists them), DEVICE from `devpass list --json` (the devices
# this machine has), --instance from LXD (or Incus) when it answers.

# The ids of the devices devpass sees: "id" keys of `devpass list --json`
# (compact when piped: one line; the device nodes have no "id").
_devpass_device_ids()
{
    devpass list --json 2>/dev/null |
        grep -o '"id": *"[^"]*"' | sed 's/^"id": *"//; s/"$//'
}

# Instance names of the default project, from whichever client answers
# within two seconds; nothing when no server runs.
_devpass_instances()
{
    local client
    for client in lxc incus; do
        type -P "$client" >/dev/null || continue
        timeout 2 "$client" list --format csv --columns n 2>/dev/null &&
            return
    done
}

_devpass()
{
    local cur prev words cword split
    # -n :, so that a PCI address (0000:65:00.0) is one word.
    _init_completion -s -n : || return

    local commands="list check explain generate iommu status"
    local -A opts=(
        [list]="--json --rules-dir"
        [check]="--rules-dir"
        [explain]="--rules-dir --socket"
        [generate]="--instance --allow-host-device"
        [iommu]="--json"
        [status]="--json --control"
    )

    case $prev in
        --rules-dir)
            _filedir -d
            return
            ;;
        --control | --socket)
            _filedir
            return
            ;;
        --instance)
            COMPREPLY=($(compgen -W "$(_devpass_instances)" -- "$cur"))
            return
            ;;
    esac
    $split && return

    # The command is the first word that is not an option or its value.
    local i command="" args=0
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --rules-dir | --control | --socket | --instance) ((i++)) ;;
            -*) ;;
            *)
                if [[ -z $command ]]; then
                    command=${words[i]}
                else
                    ((args++))
                fi
                ;;
        esac
    done

    if [[ -z $command ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--help --version" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi
    [[ -v opts[$command] ]] || return

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "${opts[$command]} --help" -- "$cur"))
        return
    fi
    case $command in
        explain | generate)
            if ((args == 0)); then
                COMPREPLY=($(compgen -W "$(_devpass_device_ids)" -- "$cur"))
                __ltrim_colon_completions "$cur"
            fi
            ;;
    esac
} &&
    complete -F _devpass devpass

_devpassd()
{
    local cur prev words cword split
    _init_completion -s || return

    case $prev in
        --rules-dir)
            _filedir -d
            return
            ;;
        --socket | --control)
            _filedir
            return
            ;;
        --log-level)
            COMPREPLY=($(compgen -W "debug info notice warning err" -- "$cur"))
            return
            ;;
    esac
    $split && return

    COMPREPLY=($(compgen -W "--rules-dir --socket --control --dry-run
        --once --log-level --help --version" -- "$cur"))
} &&
    complete -F _devpassd devpassd

# ex: filetype=sh
