// Shell completion: `lsm completion [bash|zsh|fish]` prints the script, and the script asks
// `lsm --get-yargs-completions WORDS...` at each TAB (yargs' protocol, so scripts installed from
// earlier versions keep working). The answer comes from the generated table (completion-table.ts,
// derived from the yargs definitions), so a TAB loads neither yargs nor any command: node's start
// and this module. The fleet's hook commands are not offered (completion-spec.ts's INTERNAL).
import type { CommandModule } from 'yargs';
import { TABLE, type CompletionCommand, type CompletionOption } from './completion-table.js';
import type { GlobalArgs } from './global-options.js';
import { LEGACY } from './legacy-flags.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = typeof SHELLS[number];

/** The shell asking: the script says (LSM_COMPLETION_SHELL); else, for scripts yargs wrote, as yargs tells. */
export function askingShell(env: NodeJS.ProcessEnv): Shell {
  const named = env.LSM_COMPLETION_SHELL;
  if (named === 'bash' || named === 'zsh' || named === 'fish') return named;
  if (env.SHELL?.includes('zsh') || env.ZSH_NAME?.includes('zsh')) return 'zsh';
  return env.SHELL?.includes('fish') ? 'fish' : 'bash';
}

function word(name: string, describe: string, shell: Shell): string {
  const d = describe.replace(/\s+/g, ' ');
  if (shell === 'fish') return `${name}\t${d}`;
  return shell === 'zsh' ? `${name.replace(/:/g, '\\:')}:${d}` : name;
}

function optionWords(options: CompletionOption[], used: Set<CompletionOption>, current: string, shell: Shell): string[] {
  const words: string[] = [];
  for (const o of options) {
    if (used.has(o)) continue;
    for (const n of o.names) {
      if (n.length === 1 && current.startsWith('--')) continue;
      const dashes = n.length === 1 ? '-' : '--';
      words.push(word(dashes + n, o.describe, shell));
      if (o.negatable && n.length > 1) words.push(word(`--no-${n}`, o.describe, shell));
    }
  }
  return words;
}

/**
 * What may follow `words` (the command line up to the cursor: the program, the words before,
 * the word being typed). An empty answer lets the shell complete file names (a value, a path).
 */
export function complete(words: string[], shell: Shell, table: CompletionCommand = TABLE): string[] {
  const current = words.length > 1 ? words[words.length - 1] : '';
  const before = words.slice(1, -1);
  let node = table;
  let options = [...table.options];
  const used = new Set<CompletionOption>();
  let positional = 0;
  for (let i = 0; i < before.length; i++) {
    const w = before[i];
    if (w === '--') return []; // only operands follow
    const m = /^--?(?:no-)?([^=]+)(=.*)?$/.exec(w);
    if (m && w !== '-' && !(node === table && Object.hasOwn(LEGACY, w))) {
      const option = options.find((o) => o.names.includes(m[1]));
      if (!option) continue;
      used.add(option);
      if (option.value && m[2] === undefined) {
        if (i === before.length - 1) return (option.choices ?? []).map((c) => word(c, '', shell)); // its value is being typed
        i++;
      }
      continue;
    }
    const name = node === table && Object.hasOwn(LEGACY, w) ? LEGACY[w] : w; // lsm -c ...: check's options
    const sub = positional === 0 ? node.commands.find((c) => c.name === name) : undefined;
    if (sub) { node = sub; options = [...options, ...sub.options]; continue; }
    positional++;
  }
  if (current.startsWith('-')) return optionWords(options, used, current, shell);
  if (node.commands.length && positional === 0) return node.commands.map((c) => word(c.name, c.describe, shell));
  const slot = node.positionals[positional];
  if (slot) return (slot.choices ?? []).map((c) => word(c, '', shell)); // free text: the shell's file names
  return optionWords(options, used, current, shell);
}

/** The answer to `lsm ... --get-yargs-completions PROGRAM WORDS...`: one word a line. */
export function answer(argv: string[], env: NodeJS.ProcessEnv): string {
  const words = argv.slice(argv.indexOf('--get-yargs-completions') + 1);
  return complete(words.length ? words : ['lsm'], askingShell(env)).map((w) => `${w}\n`).join('');
}

const HEAD = (shell: Shell, install: string) => `###-begin-lsm-completions-###
#
# lsm ${shell} completion: ${install}
#
`;

// bash and zsh: yargs' own templates; every script names its shell, since $SHELL may be another
const SCRIPTS: Record<Shell, string> = {
  bash: `${HEAD('bash', 'lsm completion bash >> ~/.bashrc')}_lsm_yargs_completions()
{
    local cur_word args type_list

    cur_word="\${COMP_WORDS[COMP_CWORD]}"
    args=("\${COMP_WORDS[@]}")

    # see https://stackoverflow.com/a/40944195/7080036 for the spaces-handling awk
    mapfile -t type_list < <(LSM_COMPLETION_SHELL=bash lsm --get-yargs-completions "\${args[@]}")
    mapfile -t COMPREPLY < <(compgen -W "$( printf '%q ' "\${type_list[@]}" )" -- "\${cur_word}" |
        awk '/ / { print "\\""$0"\\"" } /^[^ ]+$/ { print $0 }')

    # if no match was found, fall back to filename completion
    if [ \${#COMPREPLY[@]} -eq 0 ]; then
      COMPREPLY=()
    fi

    return 0
}
complete -o bashdefault -o default -F _lsm_yargs_completions lsm
###-end-lsm-completions-###
`,
  zsh: `#compdef lsm
${HEAD('zsh', 'lsm completion zsh >> ~/.zshrc')}_lsm_yargs_completions()
{
  local reply
  local si=$IFS
  IFS=$'\\n' reply=($(COMP_CWORD="$((CURRENT-1))" COMP_LINE="$BUFFER" COMP_POINT="$CURSOR" LSM_COMPLETION_SHELL=zsh lsm --get-yargs-completions "\${words[@]}"))
  IFS=$si
  if [[ \${#reply} -gt 0 ]]; then
    _describe 'values' reply
  else
    _default
  fi
}
if [[ "\${zsh_eval_context[-1]}" == "loadautofunc" ]]; then
  _lsm_yargs_completions "$@"
else
  compdef _lsm_yargs_completions lsm
fi
###-end-lsm-completions-###
`,
  // the words before the cursor and the one being typed; nothing offered: fish's file names
  fish: `${HEAD('fish', 'lsm completion fish > ~/.config/fish/completions/lsm.fish')}function __lsm_completions
    set -l answer (env LSM_COMPLETION_SHELL=fish lsm --get-yargs-completions (commandline -opc) (commandline -ct))
    if test (count $answer) -eq 0
        __fish_complete_path (commandline -ct)
    else
        printf '%s\\n' $answer
    end
end
complete -c lsm -f -a '(__lsm_completions)'
###-end-lsm-completions-###
`,
};

export function completionScript(shell: Shell): string {
  return SCRIPTS[shell];
}

interface Args extends GlobalArgs { shell?: Shell }

const command: CommandModule<GlobalArgs, Args> = {
  command: 'completion [shell]',
  describe: 'print a shell completion script: lsm completion bash >> ~/.bashrc (zsh >> ~/.zshrc; fish > ~/.config/fish/completions/lsm.fish)',
  builder: (y) => y.positional('shell', { choices: [...SHELLS], describe: 'the shell (default: the one $SHELL names, else bash)' }),
  handler: (argv) => {
    process.stdout.write(completionScript(argv.shell ?? askingShell({ SHELL: process.env.SHELL, ZSH_NAME: process.env.ZSH_NAME })));
  },
};
export default command;
