import type { Command } from 'commander';
import { usageError } from '../exit-codes.js';

/** Every command path and its flags, read from the program (so completion never drifts). */
function tree(cmd: Command, path: string[] = []): { path: string[]; words: string[] }[] {
  const words = [
    ...cmd.commands.map((c) => c.name()),
    ...cmd.options.map((o) => o.long ?? '').filter(Boolean),
  ];
  return [{ path, words }, ...cmd.commands.flatMap((c) => tree(c, [...path, c.name()]))];
}

function bashScript(program: Command): string {
  const root = program.name();
  const globals = program.options
    .map((o) => o.long)
    .filter(Boolean)
    .join(' ');
  const cases = tree(program)
    .map(
      ({ path, words }) =>
        `    "${path.join(' ')}") words="${words.join(' ')} ${path.length ? globals : ''}" ;;`,
    )
    .join('\n');
  return `# ${root} bash completion: eval "$(${root} completion bash)"
_${root}_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" w words
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in -*) ;; *) path="\${path:+$path }$w" ;; esac
  done
  case "$path" in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -F _${root}_complete ${root}
`;
}

function zshScript(program: Command): string {
  return `#compdef ${program.name()}\nautoload -U +X bashcompinit && bashcompinit\n${bashScript(program)}`;
}

/** `switchyard completion bash|zsh`: prints a completion script for the shell. */
export function completionCommand(program: Command): void {
  program
    .command('completion')
    .description('prints a shell completion script: eval "$(switchyard completion bash)"')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (shell === 'bash') process.stdout.write(bashScript(program));
      else if (shell === 'zsh') process.stdout.write(zshScript(program));
      else {
        const e = usageError('shell', `bash or zsh (got ${JSON.stringify(shell)})`);
        process.stderr.write(`error[usage]: ${e.message}\n`);
        process.exitCode = e.exitCode;
      }
    });
}
