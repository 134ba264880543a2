// English and French, switchable at run time. A message may have a singular and a plural form
// separated by "|", chosen with the locale's plural rules from the `count` parameter.
import { ref, watchEffect } from 'vue'

const en = {
  'app.title': 'tp · text classifier',
  'nav.label': 'Views',
  'nav.classify': 'Classify',
  'nav.batch': 'Batch',
  'nav.pipeline': 'Behind the pipeline',
  'nav.model': 'Model',
  'language.label': 'Language',
  'picker.label': 'Model',
  'footer.docs': 'REST API documentation',
  'footer.demo': 'Gradio demo',
  'models.loading': 'Loading the models… the server is starting.',
  'models.failed': 'Could not load the list of models.',
  'action.retry': 'Retry',
  'action.clear': 'Clear',
  'action.example': 'Try an example',
  'error.server': 'The server answered {status}:',
  'error.network': 'The server cannot be reached ({detail}): check that it is running.',
  'hint.shortcut': 'Ctrl+Enter submits.',
  'counter.chars': '{count} / {max} characters',
  'counter.over': 'over the server’s limit',
  'result.truncated': 'The text is longer than {tokens} tokens: the model read only its beginning.',
  'classify.label': 'Text to classify',
  'classify.placeholder': 'Paste a news article, a paragraph or a sentence…',
  'classify.submit': 'Classify',
  'classify.busy': 'Classifying…',
  'classify.empty': 'Enter a text to classify first.',
  'classify.result': 'Result',
  'classify.predicted': 'Predicted label',
  'classify.probabilities': 'Probability of each label',
  'batch.source': 'Where the texts come from',
  'batch.paste': 'Paste lines',
  'batch.upload': 'Upload a file',
  'batch.linesLabel': 'Texts, one per line',
  'batch.fileLabel': 'A .txt file (one text per line) or a .csv file',
  'batch.column': 'Column with the texts',
  'batch.ready': '{count} text ready|{count} texts ready',
  'batch.noText': 'No text found in {file}.',
  'batch.submit': 'Classify all',
  'batch.busy': 'Classifying {done} / {total}…',
  'batch.stop': 'Stop',
  'batch.stopped': 'Stopped after {done} of {total} texts.',
  'batch.empty': 'Paste at least one line, or choose a file, first.',
  'batch.progress': 'Progress',
  'batch.results': 'Results',
  'batch.summary': 'Labels found',
  'batch.row': 'Row',
  'batch.text': 'Text',
  'batch.label': 'Label',
  'batch.score': 'Probability',
  'batch.truncated': 'truncated',
  'batch.showing': 'The first {shown} of {count} rows; the CSV export has them all.',
  'batch.export': 'Export as CSV',
  'pipeline.intro':
    'What the model does with a text: it cuts it into tokens, computes one score (a logit) per label, then softmax turns the scores into probabilities.',
  'pipeline.label': 'Text to explain',
  'pipeline.submit': 'Explain',
  'pipeline.busy': 'Explaining…',
  'pipeline.empty': 'Enter a text to explain first.',
  'pipeline.method': 'Attribution method',
  'pipeline.method.gradient_x_input': 'Gradient × input (fast)',
  'pipeline.method.integrated_gradients': 'Integrated gradients (more faithful, slower)',
  'pipeline.steps': 'Steps',
  'pipeline.target': 'Label to explain',
  'pipeline.targetPredicted': 'The predicted label',
  'pipeline.explained': 'explained',
  'pipeline.tokens': '1. Tokens ({count})',
  'pipeline.tokensHelp': 'The colour shows how much each token pushed the label “{target}”: green for it, red against it.',
  'pipeline.for': 'for',
  'pipeline.against': 'against',
  'pipeline.special': 'special token',
  'pipeline.logits': '2. Logits and softmax',
  'pipeline.logit': 'Logit',
  'pipeline.softmax': 'Probability (softmax)',
  'pipeline.prediction': '3. Prediction',
  'pipeline.predictionText': '{label}, with a probability of {score}.',
  'model.details': 'Details',
  'model.name': 'Name',
  'model.task': 'Task',
  'model.base': 'Base model',
  'model.dataset': 'Dataset',
  'model.device': 'Device',
  'model.quantized': 'Quantization',
  'model.none': 'none',
  'model.labels': '{count} label|{count} labels',
  'model.limits': 'Limits',
  'limits.max_items': 'Texts per request',
  'limits.max_chars': 'Characters per text',
  'limits.max_tokens': 'Tokens read per text',
  'limits.max_batch_size': 'Texts per forward pass',
  'model.metrics': 'Test metrics',
  'metric.test_accuracy': 'Accuracy',
  'metric.test_macro_f1': 'Macro F1',
  'metric.test_size': 'Test texts',
  'metric.eval_loss': 'Validation loss',
  'metric.train_seconds': 'Training time',
  'metric.train_steps': 'Training steps',
  'metric.trainable_params': 'Trainable parameters',
  'metric.total_params': 'Parameters',
  'metric.peak_rss_bytes': 'Peak memory while training',
  'model.confusion': 'Confusion matrix',
  'model.confusionHelp': 'Rows: the true label; columns: the predicted label; {count} test texts.',
  'model.trueLabel': 'True label',
  'model.predictedLabel': 'Predicted label',
  'model.perClass': 'Per label',
  'model.precision': 'Precision',
  'model.recall': 'Recall',
  'model.f1': 'F1',
  'model.support': 'Texts',
  'model.evaluationLoading': 'Loading the evaluation…',
  'model.noEvaluation': 'No test evaluation is recorded for this model.',
  'key.title': 'API key required',
  'key.label': 'API key',
  'key.help': 'This server asks for a key (TP_API_KEY). It is kept in this browser tab only.',
  'key.submit': 'Use this key',
  'key.cancel': 'Cancel',
}

export type MessageKey = keyof typeof en

const fr: Record<MessageKey, string> = {
  'app.title': 'tp · classifieur de textes',
  'nav.label': 'Vues',
  'nav.classify': 'Classer',
  'nav.batch': 'Par lots',
  'nav.pipeline': 'Dans les coulisses',
  'nav.model': 'Modèle',
  'language.label': 'Langue',
  'picker.label': 'Modèle',
  'footer.docs': 'Documentation de l’API REST',
  'footer.demo': 'Démo Gradio',
  'models.loading': 'Chargement des modèles… le serveur démarre.',
  'models.failed': 'Impossible de charger la liste des modèles.',
  'action.retry': 'Réessayer',
  'action.clear': 'Effacer',
  'action.example': 'Essayer un exemple',
  'error.server': 'Le serveur a répondu {status} :',
  'error.network': 'Le serveur est injoignable ({detail}) : vérifiez qu’il est lancé.',
  'hint.shortcut': 'Ctrl+Entrée envoie.',
  'counter.chars': '{count} / {max} caractères',
  'counter.over': 'au-delà de la limite du serveur',
  'result.truncated': 'Le texte dépasse {tokens} tokens : le modèle n’en a lu que le début.',
  'classify.label': 'Texte à classer',
  'classify.placeholder': 'Collez un article de presse, un paragraphe ou une phrase…',
  'classify.submit': 'Classer',
  'classify.busy': 'Classement…',
  'classify.empty': 'Saisissez d’abord un texte à classer.',
  'classify.result': 'Résultat',
  'classify.predicted': 'Étiquette prédite',
  'classify.probabilities': 'Probabilité de chaque étiquette',
  'batch.source': 'D’où viennent les textes',
  'batch.paste': 'Coller des lignes',
  'batch.upload': 'Importer un fichier',
  'batch.linesLabel': 'Textes, un par ligne',
  'batch.fileLabel': 'Un fichier .txt (un texte par ligne) ou .csv',
  'batch.column': 'Colonne qui contient les textes',
  'batch.ready': '{count} texte prêt|{count} textes prêts',
  'batch.noText': 'Aucun texte trouvé dans {file}.',
  'batch.submit': 'Tout classer',
  'batch.busy': 'Classement {done} / {total}…',
  'batch.stop': 'Arrêter',
  'batch.stopped': 'Arrêté après {done} textes sur {total}.',
  'batch.empty': 'Collez d’abord au moins une ligne, ou choisissez un fichier.',
  'batch.progress': 'Progression',
  'batch.results': 'Résultats',
  'batch.summary': 'Étiquettes trouvées',
  'batch.row': 'Ligne',
  'batch.text': 'Texte',
  'batch.label': 'Étiquette',
  'batch.score': 'Probabilité',
  'batch.truncated': 'tronqué',
  'batch.showing': 'Les {shown} premières lignes sur {count} ; l’export CSV les contient toutes.',
  'batch.export': 'Exporter en CSV',
  'pipeline.intro':
    'Ce que fait le modèle d’un texte : il le découpe en tokens, calcule un score (un logit) par étiquette, puis softmax transforme les scores en probabilités.',
  'pipeline.label': 'Texte à expliquer',
  'pipeline.submit': 'Expliquer',
  'pipeline.busy': 'Explication…',
  'pipeline.empty': 'Saisissez d’abord un texte à expliquer.',
  'pipeline.method': 'Méthode d’attribution',
  'pipeline.method.gradient_x_input': 'Gradient × entrée (rapide)',
  'pipeline.method.integrated_gradients': 'Gradients intégrés (plus fidèle, plus lent)',
  'pipeline.steps': 'Étapes',
  'pipeline.target': 'Étiquette à expliquer',
  'pipeline.targetPredicted': 'L’étiquette prédite',
  'pipeline.explained': 'expliquée',
  'pipeline.tokens': '1. Tokens ({count})',
  'pipeline.tokensHelp': 'La couleur montre combien chaque token a poussé vers l’étiquette « {target} » : vert pour, rouge contre.',
  'pipeline.for': 'pour',
  'pipeline.against': 'contre',
  'pipeline.special': 'token spécial',
  'pipeline.logits': '2. Logits et softmax',
  'pipeline.logit': 'Logit',
  'pipeline.softmax': 'Probabilité (softmax)',
  'pipeline.prediction': '3. Prédiction',
  'pipeline.predictionText': '{label}, avec une probabilité de {score}.',
  'model.details': 'Détails',
  'model.name': 'Nom',
  'model.task': 'Tâche',
  'model.base': 'Modèle de base',
  'model.dataset': 'Jeu de données',
  'model.device': 'Matériel',
  'model.quantized': 'Quantification',
  'model.none': 'aucune',
  'model.labels': '{count} étiquette|{count} étiquettes',
  'model.limits': 'Limites',
  'limits.max_items': 'Textes par requête',
  'limits.max_chars': 'Caractères par texte',
  'limits.max_tokens': 'Tokens lus par texte',
  'limits.max_batch_size': 'Textes par passe du modèle',
  'model.metrics': 'Métriques de test',
  'metric.test_accuracy': 'Exactitude',
  'metric.test_macro_f1': 'F1 macro',
  'metric.test_size': 'Textes de test',
  'metric.eval_loss': 'Perte de validation',
  'metric.train_seconds': 'Durée d’entraînement',
  'metric.train_steps': 'Pas d’entraînement',
  'metric.trainable_params': 'Paramètres entraînables',
  'metric.total_params': 'Paramètres',
  'metric.peak_rss_bytes': 'Mémoire maximale à l’entraînement',
  'model.confusion': 'Matrice de confusion',
  'model.confusionHelp': 'Lignes : la vraie étiquette ; colonnes : l’étiquette prédite ; {count} textes de test.',
  'model.trueLabel': 'Vraie étiquette',
  'model.predictedLabel': 'Étiquette prédite',
  'model.perClass': 'Par étiquette',
  'model.precision': 'Précision',
  'model.recall': 'Rappel',
  'model.f1': 'F1',
  'model.support': 'Textes',
  'model.evaluationLoading': 'Chargement de l’évaluation…',
  'model.noEvaluation': 'Aucune évaluation de test n’est enregistrée pour ce modèle.',
  'key.title': 'Clé d’API requise',
  'key.label': 'Clé d’API',
  'key.help': 'Ce serveur demande une clé (TP_API_KEY). Elle n’est gardée que dans cet onglet.',
  'key.submit': 'Utiliser cette clé',
  'key.cancel': 'Annuler',
}

export const messages = { en, fr }
export type Locale = keyof typeof messages
export const locales: Locale[] = ['en', 'fr']
const LOCALE_STORAGE = 'tp.locale'

function initialLocale(): Locale {
  const saved = localStorage.getItem(LOCALE_STORAGE)
  if (saved === 'en' || saved === 'fr') return saved
  return navigator.language.toLowerCase().startsWith('fr') ? 'fr' : 'en'
}

export const locale = ref<Locale>(initialLocale())

watchEffect(() => {
  document.documentElement.lang = locale.value
})

export function setLocale(next: Locale): void {
  locale.value = next
  localStorage.setItem(LOCALE_STORAGE, next)
}

export function isMessageKey(key: string): key is MessageKey {
  return key in en
}

type Params = Record<string, string | number>

/** The message in the current locale, with {name} placeholders filled (numbers formatted for the locale). */
export function t(key: MessageKey, params: Params = {}): string {
  let message = messages[locale.value][key]
  if (message.includes('|') && typeof params.count === 'number') {
    const [one, other] = message.split('|')
    message = new Intl.PluralRules(locale.value).select(params.count) === 'one' ? one : other
  }
  return message.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name]
    if (value === undefined) return whole
    return typeof value === 'number' ? value.toLocaleString(locale.value) : value
  })
}

export function useI18n() {
  return { t, locale, setLocale }
}
