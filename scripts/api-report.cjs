#!/usr/bin/env node
// The package's API report: every name that index.ts exports, its kind and its declaration as a
// consumer's compiler sees it (the emitted declarations, without comments, private, protected or
// @internal members), sorted by name. It is checked in, so a pull request shows every change to
// the public surface.
//   node scripts/api-report.cjs           writes the report (`npm run api:report`)
//   node scripts/api-report.cjs --check   exits 1, naming the exports that changed, when the
//                                         checked-in report is not the current one
// Nothing here depends on the machine or the time: no paths, no dates, a code-unit sort.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const root = path.resolve(__dirname, '..');
const ENTRY = 'index.ts';
const PACKAGE = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).name;
/** Where the report is checked in, relative to the repository root. */
const REPORT = `api/${PACKAGE}.api.md`;
const UPDATE = 'npm run api:report';

const byCodeUnit = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** tsconfig.json's options, set to emit declarations only, in memory, without comments and internals. */
function compilerOptions() {
  const configFile = path.join(root, 'tsconfig.json');
  const read = ts.readConfigFile(configFile, ts.sys.readFile);
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, configFile);
  return {
    ...parsed.options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    declarationMap: false,
    sourceMap: false,
    inlineSourceMap: false,
    removeComments: true,
    stripInternal: true,
    incremental: false,
    composite: false,
    tsBuildInfoFile: undefined,
    noEmitOnError: false,
    newLine: ts.NewLineKind.LineFeed,
  };
}

const printer = ts.createPrinter({ newLine: ts.NewLineKind.LineFeed, removeComments: true });

function hasModifier(node, kind) {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
}

/** Whether a doc comment of the node carries @internal. */
function isInternal(node) {
  return ts.getJSDocTags(node).some((t) => t.tagName.text === 'internal');
}

function memberName(member) {
  const name = member.name;
  if (!name) return ts.isConstructorDeclaration(member) ? 'constructor' : undefined;
  return ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name) || ts.isPrivateIdentifier(name)
    ? name.text
    : name.getText();
}

/** A class member that a consumer can use: not private, protected, #private or @internal. */
function isPublicMember(member) {
  if (member.name && ts.isPrivateIdentifier(member.name)) return false;
  if (hasModifier(member, ts.SyntaxKind.PrivateKeyword) || hasModifier(member, ts.SyntaxKind.ProtectedKeyword))
    return false;
  return !isInternal(member);
}

/** Whether a member belongs to the instance side (what a type-only export of a class exposes). */
function isInstanceMember(member) {
  return (
    !ts.isConstructorDeclaration(member) &&
    !ts.isClassStaticBlockDeclaration(member) &&
    !hasModifier(member, ts.SyntaxKind.StaticKeyword)
  );
}

function kindOf(decl) {
  if (ts.isClassDeclaration(decl)) return hasModifier(decl, ts.SyntaxKind.AbstractKeyword) ? 'abstract class' : 'class';
  if (ts.isInterfaceDeclaration(decl)) return 'interface';
  if (ts.isTypeAliasDeclaration(decl)) return 'type';
  if (ts.isFunctionDeclaration(decl)) return 'function';
  if (ts.isEnumDeclaration(decl)) return 'enum';
  if (ts.isModuleDeclaration(decl)) return 'namespace';
  if (ts.isVariableDeclaration(decl)) {
    const flags = ts.getCombinedNodeFlags(decl);
    return flags & ts.NodeFlags.Const ? 'const' : flags & ts.NodeFlags.Let ? 'let' : 'var';
  }
  return ts.SyntaxKind[decl.kind];
}

/** The declarations that make up an API: a function's overload signatures, not its implementation. */
function apiDeclarations(symbol) {
  const decls = symbol.declarations ?? [];
  const overloaded = decls.some((d) => ts.isFunctionDeclaration(d) && d.body === undefined);
  return decls.filter((d) => !(overloaded && ts.isFunctionDeclaration(d) && d.body !== undefined));
}

/**
 * Every name index.ts exports, each followed through its re-exports to its declaration. An export
 * is type-only when any `export type` / `import type` lies on the way.
 */
function publicExports(program) {
  const checker = program.getTypeChecker();
  const entry = program.getSourceFile(path.join(root, ENTRY));
  if (!entry) throw new Error(`${ENTRY} is not part of the program`);
  const moduleSymbol = checker.getSymbolAtLocation(entry);
  if (!moduleSymbol) return [];
  return checker.getExportsOfModule(moduleSymbol).map((exported) => {
    let target = exported;
    let typeOnly = false;
    const seen = new Set();
    while (target.flags & ts.SymbolFlags.Alias && !seen.has(target)) {
      seen.add(target);
      if ((target.declarations ?? []).some((d) => ts.isTypeOnlyImportOrExportDeclaration(d))) typeOnly = true;
      const next = checker.getImmediateAliasedSymbol(target);
      if (!next) break;
      target = next;
    }
    // a value exported only as a type is a type for consumers
    if (!(target.flags & ts.SymbolFlags.Value)) typeOnly = false;
    return { name: ts.symbolName(exported), target, typeOnly };
  });
}

/**
 * The declaration file of each source file, parsed, made once per file: by the isolated emitter
 * (no type checking: fast) when every declaration of the file carries its types, else by the
 * program's emitter, which infers them.
 */
function declarationFiles(program) {
  const options = program.getCompilerOptions();
  const cache = new Map();
  const emitted = (sourceFile) => {
    const isolated = ts.transpileDeclaration(sourceFile.text, {
      fileName: sourceFile.fileName,
      compilerOptions: options,
      reportDiagnostics: true,
    });
    if ((isolated.diagnostics ?? []).length === 0) return isolated.outputText;
    let text;
    const result = program.emit(
      sourceFile,
      (fileName, data, _bom, _onError, sources) => {
        if (fileName.endsWith('.d.ts') && (sources ?? []).some((s) => s.fileName === sourceFile.fileName)) text = data;
      },
      undefined,
      true,
    );
    if (result.diagnostics.length > 0) throw new Error(formatDiagnostics(result.diagnostics));
    return text;
  };
  return (sourceFile) => {
    if (!cache.has(sourceFile.fileName)) {
      const text = emitted(sourceFile);
      cache.set(
        sourceFile.fileName,
        text === undefined ? undefined : ts.createSourceFile('api.d.ts', text, ts.ScriptTarget.Latest, true),
      );
    }
    return cache.get(sourceFile.fileName);
  };
}

function formatDiagnostics(diagnostics) {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => root,
    getNewLine: () => '\n',
  });
}

function declaredName(node) {
  return node.name && ts.isIdentifier(node.name) ? node.name.text : undefined;
}

/** The statements of a declaration file that declare `decl` (a function's overloads together). */
function findInDeclarationFile(dts, decl) {
  const name = declaredName(decl);
  const found = [];
  for (const statement of dts.statements) {
    if (ts.isVariableStatement(statement)) {
      if (!ts.isVariableDeclaration(decl)) continue;
      for (const d of statement.declarationList.declarations) {
        if (declaredName(d) === name) {
          found.push(
            ts.factory.updateVariableStatement(
              statement,
              statement.modifiers,
              ts.factory.updateVariableDeclarationList(statement.declarationList, [d]),
            ),
          );
        }
      }
    } else if (statement.kind === decl.kind && declaredName(statement) === name) {
      found.push(statement);
    }
  }
  return found;
}

/** Prints a declaration without `export` / `declare`, a class with its public members only. */
function printDeclaration(node, dts, { internalMembers, instanceOnly }) {
  let shown = node;
  if (ts.isClassDeclaration(node)) {
    const members = node.members.filter(
      (m) => isPublicMember(m) && !internalMembers.has(memberName(m)) && (!instanceOnly || isInstanceMember(m)),
    );
    shown = ts.factory.updateClassDeclaration(
      node,
      node.modifiers,
      node.name,
      node.typeParameters,
      node.heritageClauses,
      members,
    );
  }
  return printer.printNode(ts.EmitHint.Unspecified, shown, dts).replace(/^(?:export )?(?:default )?(?:declare )?/, '');
}

/** Where type references live in a declaration: type nodes only, never bodies or initializers. */
function typeReferences(node, add) {
  const walk = (n) => {
    if (!n) return;
    if (ts.isBlock(n)) return;
    if (ts.isTypeReferenceNode(n)) add(n.typeName);
    else if (ts.isExpressionWithTypeArguments(n)) add(n.expression);
    else if (ts.isTypeQueryNode(n)) add(n.exprName);
    else if (ts.isImportTypeNode(n) && n.qualifier) add(n.qualifier);
    if (ts.isParameter(n) || ts.isPropertyDeclaration(n) || ts.isVariableDeclaration(n)) {
      walk(n.type);
      return;
    }
    ts.forEachChild(n, walk);
  };
  walk(node);
}

/**
 * Types of this repository that the exported declarations use (through public members, props,
 * parameters and results, transitively) but index.ts does not export: a consumer reaches them
 * through an attribute and cannot name them.
 */
function unexportedReferences(program, exports) {
  const checker = program.getTypeChecker();
  const exported = new Set(exports.flatMap((e) => e.target.declarations ?? []));
  const isOwn = (decl) => {
    const file = decl.getSourceFile();
    return (
      !file.isDeclarationFile &&
      !program.isSourceFileFromExternalLibrary(file) &&
      !program.isSourceFileDefaultLibrary(file)
    );
  };
  const found = new Map(); // first declaration -> { name, kind, usedBy: Set }
  const queue = [];

  const resolve = (entity) => {
    const name = ts.isQualifiedName(entity)
      ? entity.right
      : ts.isPropertyAccessExpression(entity)
        ? entity.name
        : entity;
    let symbol = checker.getSymbolAtLocation(name);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    return symbol;
  };
  const note = (symbol, usedBy) => {
    if (!symbol || symbol.flags & ts.SymbolFlags.TypeParameter) return;
    const decl = (symbol.declarations ?? [])[0];
    if (!decl || !isOwn(decl) || (symbol.declarations ?? []).some((d) => exported.has(d))) return;
    if (found.has(decl) && found.get(decl).name === usedBy.split('.')[0]) return; // a type that names itself
    if (
      !ts.isClassDeclaration(decl) &&
      !ts.isInterfaceDeclaration(decl) &&
      !ts.isTypeAliasDeclaration(decl) &&
      !ts.isEnumDeclaration(decl)
    )
      return;
    let entry = found.get(decl);
    if (!entry) {
      entry = { name: ts.symbolName(symbol), kind: kindOf(decl), usedBy: new Set() };
      found.set(decl, entry);
      queue.push({ symbol, name: entry.name, instanceOnly: true });
    }
    entry.usedBy.add(usedBy);
  };
  /** Symbols a type is made of, for members whose type is inferred. */
  const noteType = (type, usedBy, depth = 0) => {
    if (!type || depth > 4) return;
    note(type.aliasSymbol ?? type.getSymbol(), usedBy);
    for (const part of type.isUnionOrIntersection() ? type.types : []) noteType(part, usedBy, depth + 1);
    if (type.flags & ts.TypeFlags.Object && type.objectFlags & ts.ObjectFlags.Reference) {
      for (const arg of checker.getTypeArguments(type)) noteType(arg, usedBy, depth + 1);
    }
    for (const arg of type.aliasTypeArguments ?? []) noteType(arg, usedBy, depth + 1);
    // an inferred function or object literal type: what its signatures and properties use
    if (!type.aliasSymbol && type.flags & ts.TypeFlags.Object && type.objectFlags & ts.ObjectFlags.Anonymous) {
      for (const signature of [...type.getCallSignatures(), ...type.getConstructSignatures()]) {
        for (const p of signature.getParameters()) noteType(checker.getTypeOfSymbol(p), usedBy, depth + 1);
        noteType(signature.getReturnType(), usedBy, depth + 1);
      }
      for (const property of type.getProperties()) noteType(checker.getTypeOfSymbol(property), usedBy, depth + 1);
    }
  };
  const signatureParts = (node, usedBy) => {
    for (const tp of node.typeParameters ?? []) typeReferences(tp, (e) => note(resolve(e), usedBy));
    for (const p of node.parameters ?? []) {
      if (p.type) typeReferences(p.type, (e) => note(resolve(e), usedBy));
      else noteType(checker.getTypeAtLocation(p), usedBy);
    }
    if (node.type) typeReferences(node.type, (e) => note(resolve(e), usedBy));
    else if (!ts.isConstructorDeclaration(node) && !ts.isSetAccessorDeclaration(node)) {
      const signature = checker.getSignatureFromDeclaration(node);
      if (signature) noteType(checker.getReturnTypeOfSignature(signature), usedBy);
    }
  };
  const walkDeclaration = (decl, name, instanceOnly) => {
    if (ts.isClassDeclaration(decl)) {
      for (const h of decl.heritageClauses ?? []) typeReferences(h, (e) => note(resolve(e), name));
      for (const tp of decl.typeParameters ?? []) typeReferences(tp, (e) => note(resolve(e), name));
      for (const m of decl.members) {
        const usedBy = `${name}.${memberName(m) ?? '(member)'}`;
        if (ts.isConstructorDeclaration(m)) {
          // public parameter properties are attributes, on the instance side
          for (const p of m.parameters) {
            if (!ts.isParameterPropertyDeclaration(p, m) || !isPublicMember(p)) continue;
            const attribute = `${name}.${memberName(p) ?? '(member)'}`;
            if (p.type) typeReferences(p.type, (e) => note(resolve(e), attribute));
            else noteType(checker.getTypeAtLocation(p), attribute);
          }
        }
        if (!isPublicMember(m) || (instanceOnly && !isInstanceMember(m))) continue;
        if (ts.isPropertyDeclaration(m)) {
          if (m.type) typeReferences(m.type, (e) => note(resolve(e), usedBy));
          else noteType(checker.getTypeAtLocation(m), usedBy);
        } else if (
          ts.isMethodDeclaration(m) ||
          ts.isGetAccessorDeclaration(m) ||
          ts.isSetAccessorDeclaration(m) ||
          ts.isConstructorDeclaration(m)
        ) {
          signatureParts(m, usedBy);
        } else {
          typeReferences(m, (e) => note(resolve(e), usedBy));
        }
      }
    } else if (ts.isFunctionDeclaration(decl)) {
      signatureParts(decl, name);
    } else if (ts.isVariableDeclaration(decl)) {
      if (decl.type) typeReferences(decl.type, (e) => note(resolve(e), name));
      else noteType(checker.getTypeAtLocation(decl), name);
    } else {
      typeReferences(decl, (e) => note(resolve(e), name));
    }
  };

  for (const e of exports) {
    for (const decl of apiDeclarations(e.target)) walkDeclaration(decl, e.name, e.typeOnly);
  }
  while (queue.length > 0) {
    const { symbol, name, instanceOnly } = queue.shift();
    for (const decl of apiDeclarations(symbol)) walkDeclaration(decl, name, instanceOnly);
  }
  return [...found.values()]
    .map((f) => ({ name: f.name, kind: f.kind, usedBy: [...f.usedBy].sort(byCodeUnit) }))
    .sort((a, b) => byCodeUnit(a.name, b.name) || byCodeUnit(a.usedBy.join(), b.usedBy.join()));
}

function codeBlock(text) {
  return ['```ts', text, '```'].join('\n');
}

/** The report's text, from the sources as they are now. */
function generateReport() {
  const options = compilerOptions();
  const program = ts.createProgram({ rootNames: [path.join(root, ENTRY)], options });
  const own = program
    .getSourceFiles()
    .filter((f) => !f.isDeclarationFile && !program.isSourceFileFromExternalLibrary(f));
  const errors = [
    ...own.flatMap((f) => program.getSyntacticDiagnostics(f)),
    ...program.getSemanticDiagnostics(program.getSourceFile(path.join(root, ENTRY))),
  ].filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) throw new Error(`${ENTRY} does not compile:\n${formatDiagnostics(errors)}`);

  const exports = publicExports(program).sort((a, b) => byCodeUnit(a.name, b.name));
  const dtsOf = declarationFiles(program);
  const sections = exports.map((e) => {
    const decls = apiDeclarations(e.target);
    const kinds = [...new Set(decls.map(kindOf))].sort(byCodeUnit).join(' + ') || 'unknown';
    const lines = [`## \`${e.name}\``, '', e.typeOnly ? `${kinds} (type-only export)` : kinds];
    const declared = [...new Set(decls.map(declaredName).filter((n) => n !== undefined && n !== e.name))];
    if (declared.length > 0) lines.push('', `declared as \`${declared.join('`, `')}\``);
    const printed = [];
    const done = new Set();
    for (const decl of decls) {
      const dts = dtsOf(decl.getSourceFile());
      const nodes = dts ? findInDeclarationFile(dts, decl) : [];
      if (nodes.length === 0) {
        printed.push(`// ${declaredName(decl) ?? e.name}: not in the emitted declarations (@internal?)`);
        continue;
      }
      const internalMembers = new Set(
        ts.isClassDeclaration(decl) ? decl.members.filter(isInternal).map(memberName) : [],
      );
      for (const node of nodes) {
        if (done.has(node.pos)) continue;
        done.add(node.pos);
        printed.push(printDeclaration(node, dts, { internalMembers, instanceOnly: e.typeOnly }));
      }
    }
    lines.push('', codeBlock(printed.join('\n')));
    return { name: e.name, kind: e.typeOnly ? `${kinds} (type-only export)` : kinds, text: lines.join('\n') };
  });

  const unexported = unexportedReferences(program, exports);
  const header = [
    `# API report: ${PACKAGE}`,
    '',
    `<!-- Generated by \`${UPDATE}\` (scripts/api-report.cjs) from ${ENTRY}. Do not edit by hand: the unit tests fail when it is out of date. -->`,
    '',
    `Everything the package's root exports, as a consumer's compiler sees it: the emitted declarations without doc comments and without private, protected and \`@internal\` members. A class exported as a type only shows its instance side.`,
    '',
    '| Export | Kind |',
    '| --- | --- |',
    ...sections.map((s) => `| \`${s.name}\` | ${s.kind} |`),
  ].join('\n');
  const footer = [
    '## Referenced but not exported',
    '',
    'Types of this package that the exports above use (directly or through each other) and that the root does not export: a consumer can reach them through an attribute but cannot name them.',
    '',
    ...(unexported.length === 0
      ? ['None.']
      : unexported.map((u) => `- \`${u.name}\` (${u.kind}), used by ${u.usedBy.map((n) => `\`${n}\``).join(', ')}`)),
  ].join('\n');
  return `${[header, ...sections.map((s) => s.text), footer].join('\n\n')}\n`;
}

/** The report cut into its parts: the header, one part per export (by name), the closing part. */
function sectionsOf(report) {
  const parts = new Map();
  let key = '(header)';
  let lines = [];
  const flush = () => parts.set(key, `${lines.join('\n').trimEnd()}\n`);
  for (const line of report.split('\n')) {
    const heading = /^## (?:`([^`]+)`|(.+))$/.exec(line);
    if (heading) {
      flush();
      key = heading[1] ?? `(${heading[2]})`;
      lines = [];
    }
    lines.push(line);
  }
  flush();
  return parts;
}

/** Compares the checked-in report with the current one; `message` says what changed and how to update. */
function checkReport(current = generateReport()) {
  const file = path.join(root, REPORT);
  const checkedIn = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').replace(/\r\n/g, '\n') : undefined;
  if (checkedIn === current)
    return { upToDate: true, added: [], removed: [], changed: [], message: `${REPORT} is up to date.` };
  if (checkedIn === undefined) {
    return {
      upToDate: false,
      added: [],
      removed: [],
      changed: [],
      message: `${REPORT} does not exist. Write it with \`${UPDATE}\` and commit it.`,
    };
  }
  const before = sectionsOf(checkedIn);
  const after = sectionsOf(current);
  const isExport = (k) => !k.startsWith('(');
  const added = [...after.keys()].filter((k) => isExport(k) && !before.has(k)).sort(byCodeUnit);
  const removed = [...before.keys()].filter((k) => isExport(k) && !after.has(k)).sort(byCodeUnit);
  const differs = [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k)).sort(byCodeUnit);
  const changed = differs.filter(isExport);
  // the table of exports and the list of unexported references
  const otherParts = [
    ...differs.filter((k) => !isExport(k)),
    ...[...before.keys()].filter((k) => !isExport(k) && !after.has(k)),
  ];
  const { createTwoFilesPatch } = require('diff');
  const out = [`${REPORT} is out of date: the public API differs from the checked-in report.`];
  if (added.length) out.push(`  added:   ${added.join(', ')}`);
  if (removed.length) out.push(`  removed: ${removed.join(', ')}`);
  if (changed.length) out.push(`  changed: ${changed.join(', ')}`);
  if (otherParts.length) out.push(`  also:    ${otherParts.join(', ')}`);
  out.push('');
  for (const k of [...removed, ...added, ...changed, ...otherParts]) {
    const patch = createTwoFilesPatch(
      `${k} (checked in)`,
      `${k} (current)`,
      before.get(k) ?? '',
      after.get(k) ?? '',
      undefined,
      undefined,
      { context: 3 },
    );
    out.push(
      patch
        .split('\n')
        .filter((l) => !l.startsWith('===='))
        .join('\n')
        .trimEnd(),
    );
  }
  out.push('', `If the change is intended, run \`${UPDATE}\` and commit ${REPORT} with it.`);
  return { upToDate: false, added, removed, changed, message: out.join('\n') };
}

function writeReport() {
  const file = path.join(root, REPORT);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const text = generateReport();
  fs.writeFileSync(file, text);
  return file;
}

module.exports = { generateReport, checkReport, writeReport, REPORT, UPDATE };

if (require.main === module) {
  try {
    if (process.argv.includes('--check')) {
      const result = checkReport();
      (result.upToDate ? process.stdout : process.stderr).write(`${result.message}\n`);
      process.exitCode = result.upToDate ? 0 : 1;
    } else {
      writeReport();
      process.stdout.write(`wrote ${REPORT}\n`);
    }
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  }
}
