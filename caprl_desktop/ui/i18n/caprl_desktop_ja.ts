<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ja" sourcelanguage="en">
<context>
    <name>CaptionChoices</name>
    <message>
        <source>Caption language</source>
        <translation>キャプションの言語</translation>
    </message>
    <message>
        <source>Detailed description</source>
        <translation>詳しい説明</translation>
    </message>
    <message>
        <source>One sentence</source>
        <translation>一文で</translation>
    </message>
    <message>
        <source>Transcribe text</source>
        <translation>文字の書き起こし</translation>
    </message>
    <message>
        <source>Custom prompt</source>
        <translation>カスタムプロンプト</translation>
    </message>
    <message>
        <source>Your prompt</source>
        <translation>プロンプトを入力</translation>
    </message>
</context>
<context>
    <name>CaptionEdits</name>
    <message>
        <source>Writing descriptions into the images… {} / {}</source>
        <translation>画像に説明を書き込んでいます… {} / {}</translation>
    </message>
    <message>
        <source>Description written into 1 image</source>
        <translation>1 枚の画像に説明を書き込みました</translation>
    </message>
    <message>
        <source>Descriptions written into {} images</source>
        <translation>{} 枚の画像に説明を書き込みました</translation>
    </message>
    <message>
        <source>1 kept the description someone else wrote</source>
        <translation>1 枚は他の人が書いた説明を残しました</translation>
    </message>
    <message>
        <source>{} kept the description someone else wrote</source>
        <translation>{} 枚は他の人が書いた説明を残しました</translation>
    </message>
    <message>
        <source>1 has no caption to write</source>
        <translation>1 枚は書き込むキャプションがありません</translation>
    </message>
    <message>
        <source>{} have no caption to write</source>
        <translation>{} 枚は書き込むキャプションがありません</translation>
    </message>
    <message>
        <source>{} failed: {}</source>
        <translation>{} 枚は失敗: {}</translation>
    </message>
    <message>
        <source>Writing the description into the image…</source>
        <translation>説明を画像に書き込んでいます…</translation>
    </message>
    <message>
        <source>The caption is saved; the journal could not record the edit: {}</source>
        <translation>キャプションは保存しました。ただし編集をジャーナルに記録できませんでした: {}</translation>
    </message>
    <message>
        <source>Nothing was re-captioned: the captions edited by hand could not be kept in their history ({}). Try again in a moment.</source>
        <translation>再キャプションはしていません。手で編集したキャプションを履歴に残せませんでした（{}）。少し待ってからもう一度お試しください。</translation>
    </message>
    <message>
        <source>The description in the image is the caption before this edit</source>
        <translation>画像の説明は、この編集の前のキャプションのままです</translation>
    </message>
    <message>
        <source>No images found there.</source>
        <translation>画像が見つかりませんでした。</translation>
    </message>
</context>
<context>
    <name>CaptionPanel</name>
    <message>
        <source>The caption of the selected image appears here.</source>
        <translation>選択した画像のキャプションがここに表示されます。</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>コピー</translation>
    </message>
    <message>
        <source>Write it into the image</source>
        <translation>画像に書き込む</translation>
    </message>
    <message>
        <source>Copy the caption (Ctrl+Shift+C)</source>
        <translation>キャプションをコピー (Ctrl+Shift+C)</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>詳細</translation>
    </message>
    <message>
        <source>No image selected</source>
        <translation>画像が選択されていません</translation>
    </message>
    <message>
        <source>Edited by hand: {}</source>
        <translation>手で編集: {}</translation>
    </message>
    <message>
        <source>Edited by hand</source>
        <translation>手で編集</translation>
    </message>
    <message>
        <source>The model&apos;s caption (the details below are of it): {}</source>
        <translation>モデルのキャプション（以下の詳細はこちらのものです）: {}</translation>
    </message>
    <message>
        <source>No details: the caption was not made by this app&apos;s run, or is not made yet.</source>
        <translation>詳細はありません（このアプリの実行で作られたキャプションではないか、まだ作られていません）。</translation>
    </message>
    <message>
        <source>{}×{} px</source>
        <translation>{}×{} px</translation>
    </message>
    <message>
        <source>, {} image tokens (up to {})</source>
        <translation>、画像トークン {}（上限 {}）</translation>
    </message>
    <message>
        <source>encode {} ms</source>
        <translation>エンコード {} ms</translation>
    </message>
    <message>
        <source>prompt {} ms</source>
        <translation>プロンプト {} ms</translation>
    </message>
    <message>
        <source>decode {} ms</source>
        <translation>デコード {} ms</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>モデル</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>サーバー</translation>
    </message>
    <message>
        <source>Model sha256</source>
        <translation>モデルの sha256</translation>
    </message>
    <message>
        <source>Projector</source>
        <translation>プロジェクター</translation>
    </message>
    <message>
        <source>Projector sha256</source>
        <translation>プロジェクターの sha256</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>デバイス</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>シード</translation>
    </message>
    <message>
        <source>Sampling</source>
        <translation>サンプリング</translation>
    </message>
    <message>
        <source>temperature {}, top-p {}, repeat penalty {}, up to {} tokens</source>
        <translation>temperature {}、top-p {}、繰り返しペナルティ {}、最大 {} トークン</translation>
    </message>
    <message>
        <source>Image</source>
        <translation>画像</translation>
    </message>
    <message>
        <source>1 character</source>
        <translation>1 文字</translation>
    </message>
    <message>
        <source>1 token</source>
        <translation>1 トークン</translation>
    </message>
    <message>
        <source>{} tokens</source>
        <translation>{} トークン</translation>
    </message>
    <message>
        <source>Finished</source>
        <translation>終了理由</translation>
    </message>
    <message>
        <source>Times</source>
        <translation>時間</translation>
    </message>
    <message>
        <source>Preset</source>
        <translation>プリセット</translation>
    </message>
    <message>
        <source>System prompt</source>
        <translation>システムプロンプト</translation>
    </message>
    <message>
        <source>App version</source>
        <translation>アプリのバージョン</translation>
    </message>
    <message>
        <source>cut off at {} tokens (the most a caption may have)</source>
        <translation>{} トークンで打ち切り（キャプションの上限）</translation>
    </message>
    <message>
        <source>cut off: the model&apos;s context was full</source>
        <translation>打ち切り：モデルのコンテキストがいっぱいになりました</translation>
    </message>
    <message>
        <source>complete (the model ended it)</source>
        <translation>完結（モデルが書き終えました）</translation>
    </message>
    <message>
        <source>stopped part way</source>
        <translation>途中で停止</translation>
    </message>
    <message>
        <source>{} characters</source>
        <translation>{} 文字</translation>
    </message>
    <message>
        <source>Edited</source>
        <translation>編集済み</translation>
    </message>
    <message>
        <source>Not saved</source>
        <translation>保存されていません</translation>
    </message>
    <message>
        <source>Saved to {}</source>
        <translation>{} に保存しました</translation>
    </message>
    <message>
        <source>Copied</source>
        <translation>コピーしました</translation>
    </message>
</context>
<context>
    <name>CaptionVersions</name>
    <message>
        <source>Undo change</source>
        <translation>変更を元に戻す</translation>
    </message>
    <message>
        <source>Revert to the model&apos;s caption</source>
        <translation>モデルのキャプションに戻す</translation>
    </message>
    <message>
        <source>Before the re-caption:</source>
        <translation>再キャプション前:</translation>
    </message>
    <message>
        <source>Put it back</source>
        <translation>これに戻す</translation>
    </message>
    <message>
        <source>History</source>
        <translation>履歴</translation>
    </message>
    <message>
        <source>Put back the caption before the last change: {}</source>
        <translation>最後の変更の前のキャプションに戻します: {}</translation>
    </message>
    <message>
        <source>The model&apos;s caption: {}</source>
        <translation>モデルのキャプション: {}</translation>
    </message>
    <message>
        <source>Edited by hand · {}</source>
        <translation>手で編集 · {}</translation>
    </message>
    <message>
        <source>Edited by hand</source>
        <translation>手で編集</translation>
    </message>
    <message>
        <source>Made by the model</source>
        <translation>モデルが作成</translation>
    </message>
    <message>
        <source>Reverted to the model&apos;s caption</source>
        <translation>モデルのキャプションに戻した</translation>
    </message>
    <message>
        <source>Put back</source>
        <translation>以前のものに戻した</translation>
    </message>
    <message>
        <source>Found on disk</source>
        <translation>ディスク上にあったもの</translation>
    </message>
    <message>
        <source>run {}</source>
        <translation>実行 {}</translation>
    </message>
</context>
<context>
    <name>Confirm</name>
    <message>
        <source>Replace 1 existing caption?</source>
        <translation>既存のキャプション 1 件を置き換えますか？</translation>
    </message>
    <message>
        <source>Replace {} existing captions?</source>
        <translation>既存のキャプション {} 件を置き換えますか？</translation>
    </message>
    <message>
        <source>1 of them was edited by hand since CapRL Desktop wrote it.</source>
        <translation>そのうち 1 件は CapRL Desktop が書いた後に手で編集されています。</translation>
    </message>
    <message>
        <source>{} of them were edited by hand since CapRL Desktop wrote them.</source>
        <translation>そのうち {} 件は CapRL Desktop が書いた後に手で編集されています。</translation>
    </message>
    <message>
        <source>1 of them was not written by CapRL Desktop (by hand or by another program).</source>
        <translation>そのうち 1 件は CapRL Desktop が書いたものではありません（手書きか別のプログラム）。</translation>
    </message>
    <message>
        <source>{} of them were not written by CapRL Desktop (by hand or by another program).</source>
        <translation>そのうち {} 件は CapRL Desktop が書いたものではありません（手書きか別のプログラム）。</translation>
    </message>
    <message>
        <source>New captions in {} are saved over them; each image&apos;s history keeps the old one (Undo change puts it back).</source>
        <translation>{}の新しいキャプションで上書きします。古いキャプションは各画像の履歴に残ります（「変更を元に戻す」で戻せます）。</translation>
    </message>
    <message>
        <source>Replace all but the 1 edited by hand</source>
        <translation>手で編集した 1 件以外を置き換える</translation>
    </message>
    <message>
        <source>Replace all but the {} edited by hand</source>
        <translation>手で編集した {} 件以外を置き換える</translation>
    </message>
    <message>
        <source>Replace all</source>
        <translation>すべて置き換える</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>キャンセル</translation>
    </message>
    <message>
        <source>{} images are still to be re-captioned. Stop re-captioning?</source>
        <translation>まだ {} 枚の再キャプションが残っています。再キャプションを中止しますか？</translation>
    </message>
    <message>
        <source>{} images are left to caption, {} of them to re-caption. Stop captioning?</source>
        <translation>まだ {} 枚が残っています（うち {} 枚は再キャプション）。中止しますか？</translation>
    </message>
    <message>
        <source>Captions already made are kept, and so are the old captions of images not re-captioned yet. Start goes on with the rest.</source>
        <translation>作成済みのキャプションは残ります。まだ再キャプションしていない画像の元のキャプションもそのままです。「開始」で残りを続けます。</translation>
    </message>
    <message>
        <source>1 image is still queued: quit anyway?</source>
        <translation>まだ 1 枚が処理待ちです。終了しますか？</translation>
    </message>
    <message>
        <source>{} images are still queued: quit anyway?</source>
        <translation>まだ {} 枚が処理待ちです。終了しますか？</translation>
    </message>
    <message>
        <source>You can resume next time: CapRL Desktop offers to when it starts.</source>
        <translation>次回の起動時に再開できます（CapRL Desktop が再開を提案します）。</translation>
    </message>
    <message>
        <source>You can resume {} of them next time; the other {} were not started yet and would have to be added again.</source>
        <translation>うち {} 枚は次回再開できます。残りの {} 枚はまだ開始していないため、もう一度追加する必要があります。</translation>
    </message>
    <message>
        <source>They were not started yet: next time, add them again.</source>
        <translation>まだ開始していないため、次回もう一度追加してください。</translation>
    </message>
    <message>
        <source>Quit CapRL Desktop?</source>
        <translation>CapRL Desktop を終了しますか？</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>終了する</translation>
    </message>
    <message>
        <source>Replace captions?</source>
        <translation>キャプションを置き換えますか？</translation>
    </message>
    <message>
        <source>Stop captioning?</source>
        <translation>キャプション付けを中止しますか？</translation>
    </message>
    <message>
        <source>{} images are not captioned yet. Stop captioning?</source>
        <translation>まだ {} 枚にキャプションがありません。中止しますか？</translation>
    </message>
    <message>
        <source>Stop captioning</source>
        <translation>中止する</translation>
    </message>
    <message>
        <source>Keep captioning</source>
        <translation>続ける</translation>
    </message>
</context>
<context>
    <name>Description</name>
    <message>
        <source>Description not written: {}</source>
        <translation>説明は書き込まれませんでした: {}</translation>
    </message>
    <message>
        <source>The description already in the image was kept</source>
        <translation>画像にあった説明はそのまま残しました</translation>
    </message>
    <message>
        <source>Description written into the image</source>
        <translation>説明を画像に書き込みました</translation>
    </message>
    <message>
        <source>Description written to {}</source>
        <translation>説明を {} に書き込みました</translation>
    </message>
    <message>
        <source>Its description cannot be read</source>
        <translation>画像の説明を読み取れません</translation>
    </message>
    <message>
        <source>No description in the image</source>
        <translation>画像に説明はありません</translation>
    </message>
    <message>
        <source>Description in the image, written by CapRL Desktop</source>
        <translation>画像に説明があります（CapRL Desktop が書いたもの）</translation>
    </message>
    <message>
        <source>Description in the image, written by someone else</source>
        <translation>画像に説明があります（他の人が書いたもの）</translation>
    </message>
</context>
<context>
    <name>DropReport</name>
    <message>
        <source>{} and {} more</source>
        <translation>{} ほか {} 件</translation>
    </message>
    <message>
        <source>No images found in {}</source>
        <translation>{} に画像が見つかりません</translation>
    </message>
    <message>
        <source>Added {} from {}</source>
        <translation>{1} から {0} 枚を追加しました</translation>
    </message>
    <message>
        <source>{} already captioned</source>
        <translation>{} 枚はキャプション済み</translation>
    </message>
    <message>
        <source>{} listed already</source>
        <translation>{} 枚は一覧に追加済み</translation>
    </message>
    <message>
        <source>Nothing added from {}: its {} images are listed already</source>
        <translation>{} からは追加なし: {} 枚すべて一覧にあります</translation>
    </message>
    <message>
        <source>not found: {}</source>
        <translation>見つかりません: {}</translation>
    </message>
    <message>
        <source>Not found: {}</source>
        <translation>見つかりません: {}</translation>
    </message>
    <message>
        <source>could not read {}</source>
        <translation>読めなかったフォルダ: {}</translation>
    </message>
    <message>
        <source>Could not read {}</source>
        <translation>読めなかったフォルダ: {}</translation>
    </message>
</context>
<context>
    <name>EmptyState</name>
    <message>
        <source>Drop images or folders here</source>
        <translation>ここに画像かフォルダをドロップ</translation>
    </message>
    <message>
        <source>{formats} · captions are saved beside each image as .txt</source>
        <translation>{formats} · キャプションは各画像の隣に .txt として保存されます</translation>
    </message>
    <message>
        <source>Open images…</source>
        <translation>画像を開く…</translation>
    </message>
    <message>
        <source>Open folder…</source>
        <translation>フォルダを開く…</translation>
    </message>
</context>
<context>
    <name>EnginePage</name>
    <message>
        <source>This computer, with the CapRL model installed here</source>
        <translation>このコンピューター（ここにインストールした CapRL モデル）</translation>
    </message>
    <message>
        <source>Caption servers (vLLM, llama.cpp&apos;s server, LM Studio)</source>
        <translation>キャプションサーバー（vLLM、llama.cpp のサーバー、LM Studio）</translation>
    </message>
    <message>
        <source>Add…</source>
        <translation>追加…</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>削除</translation>
    </message>
    <message>
        <source>Check</source>
        <translation>確認</translation>
    </message>
    <message>
        <source>Ask each server whether it answers, and which model it serves</source>
        <translation>各サーバーが応答するか、どのモデルを提供しているかを確認します</translation>
    </message>
    <message>
        <source>Images are sent only to the servers ticked here, scaled to the image detail chosen; a folder is spread over all of them. API keys stay in an environment variable or the system keyring.</source>
        <translation>画像はここでチェックしたサーバーにだけ、選んだ画像の詳細度に縮小して送られます。フォルダーはすべてのサーバーに分散されます。API キーは環境変数かシステムのキーリングに保管されます。</translation>
    </message>
    <message>
        <source>On the other computer, run an OpenAI-compatible server with the CapRL model and its vision projector, e.g. llama.cpp&apos;s &lt;code&gt;llama-server -m CapRL-3B.Q4_K_M.gguf --mmproj CapRL-3B.mmproj-Q8_0.gguf --host 0.0.0.0 --port 8080 --parallel 4&lt;/code&gt;, vLLM&apos;s &lt;code&gt;vllm serve internlm/CapRL-3B&lt;/code&gt;, or LM Studio&apos;s server; then add its address here (e.g. http://gpu-box:8080/v1).</source>
        <translation>相手のコンピューターで、CapRL モデルとビジョンプロジェクターを読み込んだ OpenAI 互換サーバーを起動します。例：llama.cpp の &lt;code&gt;llama-server -m CapRL-3B.Q4_K_M.gguf --mmproj CapRL-3B.mmproj-Q8_0.gguf --host 0.0.0.0 --port 8080 --parallel 4&lt;/code&gt;、vLLM の &lt;code&gt;vllm serve internlm/CapRL-3B&lt;/code&gt;、または LM Studio のサーバー。そのアドレスをここに追加してください（例：http://gpu-box:8080/v1）。</translation>
    </message>
    <message>
        <source>{} at a time</source>
        <translation>同時に {} 件</translation>
    </message>
    <message>
        <source>captions at a time found out</source>
        <translation>同時に生成する数は自動で判定</translation>
    </message>
    <message>
        <source>does not answer: {}</source>
        <translation>応答なし: {}</translation>
    </message>
    <message>
        <source>answers, serving {}</source>
        <translation>応答あり、{} を提供中</translation>
    </message>
    <message>
        <source>Caption servers</source>
        <translation>キャプションサーバー</translation>
    </message>
    <message>
        <source>Tick the servers to caption with, or choose this computer.</source>
        <translation>キャプションに使うサーバーにチェックを入れるか、このコンピューターを選んでください。</translation>
    </message>
    <message>
        <source>Send images unencrypted?</source>
        <translation>画像を暗号化せずに送信しますか？</translation>
    </message>
    <message>
        <source>Send images to {} without encryption?</source>
        <translation>{} に画像を暗号化せずに送信しますか？</translation>
    </message>
    <message>
        <source>This is asked once for each server. HTTPS, or an SSH tunnel to the server, keeps them private.</source>
        <translation>この確認はサーバーごとに一度だけです。HTTPS か、サーバーへの SSH トンネルを使えば内容は守られます。</translation>
    </message>
    <message>
        <source>Send to it</source>
        <translation>送信する</translation>
    </message>
    <message>
        <source>Don&apos;t send</source>
        <translation>送信しない</translation>
    </message>
</context>
<context>
    <name>ExportDialog</name>
    <message>
        <source>{} not in that folder</source>
        <translation>{} 件はフォルダー外</translation>
    </message>
    <message>
        <source>{} not captioned</source>
        <translation>{} 件は未キャプション</translation>
    </message>
    <message>
        <source>{} failed</source>
        <translation>{} 件は失敗</translation>
    </message>
    <message>
        <source>left out: {}</source>
        <translation>除外: {}</translation>
    </message>
    <message>
        <source>{} by the model</source>
        <translation>モデル {} 件</translation>
    </message>
    <message>
        <source>{} edited by hand</source>
        <translation>手で編集 {} 件</translation>
    </message>
    <message>
        <source>{} found on disk</source>
        <translation>ディスク上にあったもの {} 件</translation>
    </message>
    <message>
        <source>({})</source>
        <translation>（{}）</translation>
    </message>
    <message>
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <source>{} of them failed (the file gives the reason)</source>
        <translation>うち {} 件は失敗（理由はファイルに記載）</translation>
    </message>
    <message>
        <source>Nothing exported</source>
        <translation>何も書き出していません</translation>
    </message>
    <message>
        <source>Exported {} captions to {}</source>
        <translation>{1} に {0} 件のキャプションを書き出しました</translation>
    </message>
    <message>
        <source>Nothing to export</source>
        <translation>書き出すものがありません</translation>
    </message>
    <message>
        <source>{} captions to export</source>
        <translation>書き出すキャプション: {} 件</translation>
    </message>
    <message>
        <source>Export captions</source>
        <translation>キャプションを書き出す</translation>
    </message>
    <message>
        <source>CSV for Excel (captions.csv)</source>
        <translation>Excel 用 CSV (captions.csv)</translation>
    </message>
    <message>
        <source>JSON Lines (captions.jsonl)</source>
        <translation>JSON Lines (captions.jsonl)</translation>
    </message>
    <message>
        <source>Hugging Face dataset (metadata.jsonl)</source>
        <translation>Hugging Face データセット (metadata.jsonl)</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>参照…</translation>
    </message>
    <message>
        <source>Only the selected image</source>
        <translation>選択した画像のみ</translation>
    </message>
    <message>
        <source>Only the {} selected images</source>
        <translation>選択した {} 枚の画像のみ</translation>
    </message>
    <message>
        <source>Only the selected images</source>
        <translation>選択した画像のみ</translation>
    </message>
    <message>
        <source>Also where each caption came from (model checksums, device, sampling, seed, timings)</source>
        <translation>各キャプションの出どころも含める（モデルのチェックサム、デバイス、サンプリング、シード、所要時間）</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>書き出す</translation>
    </message>
    <message>
        <source>Format:</source>
        <translation>形式:</translation>
    </message>
    <message>
        <source>Images:</source>
        <translation>画像:</translation>
    </message>
    <message>
        <source>Columns:</source>
        <translation>列:</translation>
    </message>
    <message>
        <source>Folder:</source>
        <translation>フォルダー:</translation>
    </message>
    <message>
        <source>Save as:</source>
        <translation>保存先:</translation>
    </message>
    <message>
        <source>Every column (file name, caption, language, prompt, model, timings, error, path); Excel shows Japanese correctly.</source>
        <translation>すべての列（ファイル名、キャプション、言語、プロンプト、モデル、所要時間、エラー、パス）。Excel で日本語が正しく表示されます。</translation>
    </message>
    <message>
        <source>The same columns as JSON, one image per line.</source>
        <translation>同じ列を JSON で、1 行に 1 枚。</translation>
    </message>
    <message>
        <source>file_name and text, as Hugging Face ImageFolder reads them. The file sits in the folder it describes: images outside it are left out, and so are failed ones.</source>
        <translation>Hugging Face ImageFolder が読む file_name と text です。ファイルは対象の画像フォルダーに置きます。フォルダー外の画像と失敗した画像は除外されます。</translation>
    </message>
    <message>
        <source>Folder of the images</source>
        <translation>画像のフォルダー</translation>
    </message>
    <message>
        <source>CSV (*.csv)</source>
        <translation>CSV (*.csv)</translation>
    </message>
    <message>
        <source>JSON Lines (*.jsonl)</source>
        <translation>JSON Lines (*.jsonl)</translation>
    </message>
    <message>
        <source>Reading the captions on disk…</source>
        <translation>ディスク上のキャプションを読み込んでいます…</translation>
    </message>
    <message>
        <source>Choose where the file goes.</source>
        <translation>保存先を選んでください。</translation>
    </message>
    <message>
        <source>The folder {} does not exist.</source>
        <translation>フォルダー {} がありません。</translation>
    </message>
    <message>
        <source>replaces the {} there</source>
        <translation>既存の {} を置き換えます</translation>
    </message>
    <message>
        <source>Export failed: {}</source>
        <translation>書き出しに失敗しました: {}</translation>
    </message>
</context>
<context>
    <name>FolderPanel</name>
    <message>
        <source>Caption folder</source>
        <translation>フォルダをキャプション</translation>
    </message>
    <message>
        <source>Write descriptions into the images</source>
        <translation>画像に説明を書き込む</translation>
    </message>
    <message>
        <source>Caption folder (overwrite existing)</source>
        <translation>フォルダをキャプション（既存を上書き）</translation>
    </message>
</context>
<context>
    <name>FoldersPane</name>
    <message>
        <source>Places</source>
        <translation>場所</translation>
    </message>
    <message>
        <source>Up one folder</source>
        <translation>1 つ上のフォルダーへ</translation>
    </message>
</context>
<context>
    <name>HelpMenu</name>
    <message>
        <source>&amp;Help</source>
        <translation>ヘルプ(&amp;H)</translation>
    </message>
    <message>
        <source>About CapRL Desktop</source>
        <translation>CapRL Desktop について</translation>
    </message>
    <message>
        <source>Keyboard shortcuts</source>
        <translation>キーボードショートカット</translation>
    </message>
    <message>
        <source>Report a problem (copy a report)</source>
        <translation>問題を報告（レポートをコピー）</translation>
    </message>
    <message>
        <source>no model loaded yet</source>
        <translation>モデルはまだ読み込まれていません</translation>
    </message>
    <message>
        <source>CapRL Desktop {}: image captions with CapRL on this computer.</source>
        <translation>CapRL Desktop {}: このコンピューター上で CapRL が画像にキャプションを付けます。</translation>
    </message>
    <message>
        <source>Engine: {}</source>
        <translation>エンジン: {}</translation>
    </message>
    <message>
        <source>Gathering a report for a problem…</source>
        <translation>問題報告用のレポートを集めています…</translation>
    </message>
    <message>
        <source>The report is on the clipboard: paste it into your problem report.</source>
        <translation>レポートをクリップボードにコピーしました。問題の報告に貼り付けてください。</translation>
    </message>
</context>
<context>
    <name>ImageList</name>
    <message>
        <source>Name, state, caption</source>
        <translation>名前・状態・キャプション</translation>
    </message>
    <message>
        <source>Lists only the images whose name, state or caption holds this text</source>
        <translation>名前・状態・キャプションにこの文字を含む画像だけを表示します</translation>
    </message>
    <message>
        <source>Order added</source>
        <translation>追加順</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名前</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状態</translation>
    </message>
</context>
<context>
    <name>LocalModelDialog</name>
    <message>
        <source>Use model files on disk</source>
        <translation>ディスク上のモデルファイルを使う</translation>
    </message>
    <message>
        <source>Pick the CapRL text model (a GGUF file). Its vision projector (mmproj) is found when it is in the same folder. Nothing is copied: the files stay where they are.</source>
        <translation>CapRL のテキストモデル（GGUF ファイル）を選んでください。同じフォルダーにあれば視覚プロジェクター（mmproj）も見つけます。ファイルはコピーせず、その場所のまま使います。</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>参照…</translation>
    </message>
    <message>
        <source>Model:</source>
        <translation>モデル:</translation>
    </message>
    <message>
        <source>Projector:</source>
        <translation>プロジェクタ:</translation>
    </message>
    <message>
        <source>Add</source>
        <translation>追加</translation>
    </message>
    <message>
        <source>The CapRL text model (GGUF)</source>
        <translation>CapRL のテキストモデル (GGUF)</translation>
    </message>
    <message>
        <source>GGUF models (*.gguf)</source>
        <translation>GGUF モデル (*.gguf)</translation>
    </message>
    <message>
        <source>Its vision projector (mmproj GGUF)</source>
        <translation>対応するビジョンプロジェクタ (mmproj GGUF)</translation>
    </message>
    <message>
        <source>No vision projector was found beside the model: choose it with Browse….</source>
        <translation>モデルと同じフォルダーにビジョンプロジェクタが見つかりません。「参照…」で選んでください。</translation>
    </message>
    <message>
        <source>Found beside the model.</source>
        <translation>モデルと同じフォルダーで見つかりました。</translation>
    </message>
    <message>
        <source>Checking {} and {}…</source>
        <translation>{} と {} を確認しています…</translation>
    </message>
    <message>
        <source>The files could not be added: {}</source>
        <translation>ファイルを追加できませんでした: {}</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Open images…</source>
        <translation>画像を開く…</translation>
    </message>
    <message>
        <source>Open folder…</source>
        <translation>フォルダを開く…</translation>
    </message>
    <message>
        <source>Folders</source>
        <translation>フォルダ</translation>
    </message>
    <message>
        <source>Copy report</source>
        <translation>レポートをコピー</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>閉じる</translation>
    </message>
    <message>
        <source>Paste image</source>
        <translation>画像を貼り付け</translation>
    </message>
    <message>
        <source>Export captions…</source>
        <translation>キャプションを書き出す…</translation>
    </message>
    <message>
        <source>Models…</source>
        <translation>モデル…</translation>
    </message>
    <message>
        <source>Settings…</source>
        <translation>設定…</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>終了</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>開始</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>一時停止</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>中止</translation>
    </message>
    <message>
        <source>Caption selected</source>
        <translation>選択した画像をキャプション</translation>
    </message>
    <message>
        <source>Re-caption selected</source>
        <translation>選択した画像を再キャプション</translation>
    </message>
    <message>
        <source>Write descriptions into the images</source>
        <translation>画像に説明を書き込む</translation>
    </message>
    <message>
        <source>Write the captions on disk of the selected images (or of all listed) into the images as their descriptions</source>
        <translation>選択した画像（選択がなければ一覧のすべて）のディスク上のキャプションを、画像の説明として書き込みます</translation>
    </message>
    <message>
        <source>Copy caption</source>
        <translation>キャプションをコピー</translation>
    </message>
    <message>
        <source>Save caption</source>
        <translation>キャプションを保存</translation>
    </message>
    <message>
        <source>Remove from list</source>
        <translation>リストから削除</translation>
    </message>
    <message>
        <source>Next image</source>
        <translation>次の画像</translation>
    </message>
    <message>
        <source>Previous image</source>
        <translation>前の画像</translation>
    </message>
    <message>
        <source>Show in file manager</source>
        <translation>ファイルマネージャで表示</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>ファイル(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>編集(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;Caption</source>
        <translation>キャプション(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>表示(&amp;V)</translation>
    </message>
    <message>
        <source>Caption</source>
        <translation>キャプション</translation>
    </message>
    <message>
        <source>Looking for images…</source>
        <translation>画像を探しています…</translation>
    </message>
    <message>
        <source>Open images</source>
        <translation>画像を開く</translation>
    </message>
    <message>
        <source>Images ({})</source>
        <translation>画像 ({})</translation>
    </message>
    <message>
        <source>Open folder</source>
        <translation>フォルダを開く</translation>
    </message>
    <message>
        <source>CapRL Desktop closed unexpectedly last time. Copy a report (what this computer runs and how it ended) to paste into a problem report?</source>
        <translation>前回、CapRL Desktop は予期せず終了しました。問題の報告に貼り付けるレポート（このコンピューターの構成と終了の状況）をコピーしますか?</translation>
    </message>
    <message>
        <source>What the crash left is in {}</source>
        <translation>クラッシュの記録は {} にあります</translation>
    </message>
    <message>
        <source>No caption was made for this image.</source>
        <translation>この画像のキャプションは作成されませんでした。</translation>
    </message>
    <message>
        <source>Not captioned yet. Start (F5) captions the images listed; or write a caption here.</source>
        <translation>まだキャプションがありません。開始 (F5) で一覧の画像にキャプションを付けます。ここに直接書くこともできます。</translation>
    </message>
    <message>
        <source>Save captions in</source>
        <translation>キャプションの保存先</translation>
    </message>
    <message>
        <source>Captions are saved in {} (Settings changes this).</source>
        <translation>キャプションは {} に保存されます（設定で変更できます）。</translation>
    </message>
</context>
<context>
    <name>ModelDialog</name>
    <message>
        <source>Models — CapRL Desktop</source>
        <translation>モデル — CapRL Desktop</translation>
    </message>
    <message>
        <source>On this computer</source>
        <translation>このコンピュータ</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>モデル</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>サイズ</translation>
    </message>
    <message>
        <source>From</source>
        <translation>入手元</translation>
    </message>
    <message>
        <source>Use this model</source>
        <translation>このモデルを使う</translation>
    </message>
    <message>
        <source>Remove…</source>
        <translation>削除…</translation>
    </message>
    <message>
        <source>Open models folder</source>
        <translation>モデルフォルダを開く</translation>
    </message>
    <message>
        <source>Download from Hugging Face</source>
        <translation>Hugging Face からダウンロード</translation>
    </message>
    <message>
        <source>Looking at this computer and the Hugging Face hub…</source>
        <translation>このコンピュータと Hugging Face Hub を確認しています…</translation>
    </message>
    <message>
        <source>Quant</source>
        <translation>量子化</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>種類</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>ダウンロード</translation>
    </message>
    <message>
        <source>Memory needed</source>
        <translation>必要なメモリ</translation>
    </message>
    <message>
        <source>Also show imatrix (i1) quants: often better at 3 bits and below</source>
        <translation>imatrix (i1) 量子化も表示（3 ビット以下で有利なことが多い）</translation>
    </message>
    <message>
        <source>Cancel download</source>
        <translation>ダウンロードを中止</translation>
    </message>
    <message>
        <source>{} (in use)</source>
        <translation>{}（使用中）</translation>
    </message>
    <message>
        <source>Hugging Face</source>
        <translation>Hugging Face</translation>
    </message>
    <message>
        <source>Cannot use this model</source>
        <translation>このモデルは使えません</translation>
    </message>
    <message>
        <source>Delete {} from this computer? It can be downloaded again later.</source>
        <translation>{} をこのコンピュータから削除しますか？後で再びダウンロードできます。</translation>
    </message>
    <message>
        <source>Forget {}? The file stays where it is.</source>
        <translation>{} の登録を解除しますか？ファイルはそのまま残ります。</translation>
    </message>
    <message>
        <source>Remove model</source>
        <translation>モデルを削除</translation>
    </message>
    <message>
        <source>Cannot remove this model</source>
        <translation>このモデルを削除できません</translation>
    </message>
    <message>
        <source>Use model files on disk…</source>
        <translation>ディスク上のモデルファイルを使う…</translation>
    </message>
    <message>
        <source>CapRL Desktop captions with a CapRL model, run on this computer. Pick a model and a quant: smaller ones need less memory, larger ones are a little more accurate. The vision projector comes with the first download.</source>
        <translation>CapRL Desktop は CapRL モデルをこのコンピューター上で動かしてキャプションを作ります。モデルと量子化を選んでください。小さいものは必要なメモリーが少なく、大きいものは少し正確です。視覚プロジェクターは最初のダウンロードで一緒に入ります。</translation>
    </message>
    <message>
        <source>Model:</source>
        <translation>モデル:</translation>
    </message>
    <message>
        <source>Try again</source>
        <translation>再試行</translation>
    </message>
    <message>
        <source>Vision projector: {} ({})</source>
        <translation>ビジョンプロジェクタ: {} ({})</translation>
    </message>
    <message>
        <source>No model yet: download one below, or use model files on disk.</source>
        <translation>モデルがまだありません。下からダウンロードするか、ディスク上のモデルファイルを使ってください。</translation>
    </message>
    <message>
        <source>Checking {} and {}…</source>
        <translation>{} と {} を確認しています…</translation>
    </message>
    <message>
        <source>Model card</source>
        <translation>モデルカード</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>不明</translation>
    </message>
    <message>
        <source>RAM</source>
        <translation>RAM</translation>
    </message>
    <message>
        <source>Judged against {}: {} available.</source>
        <translation>{} を基準に判定: 空き {}。</translation>
    </message>
    <message>
        <source>No GPU is used by this build, so the model runs on the CPU.</source>
        <translation>このビルドは GPU を使わないため、モデルは CPU で動きます。</translation>
    </message>
    <message>
        <source>Recommended here: {}.</source>
        <translation>このコンピュータでのおすすめ: {}。</translation>
    </message>
    <message>
        <source>The list below is built in: its sizes are approximate, and downloading needs Hugging Face.</source>
        <translation>下の一覧は内蔵のもので、サイズはおおよそです。ダウンロードには Hugging Face への接続が必要です。</translation>
    </message>
    <message>
        <source>The imatrix quants could not be listed: {}</source>
        <translation>imatrix 量子化の一覧を取得できませんでした: {}</translation>
    </message>
    <message>
        <source>Offline: use model files on disk</source>
        <translation>オフライン: ディスク上のモデルファイルを使えます</translation>
    </message>
    <message>
        <source>Downloads are not available now</source>
        <translation>現在ダウンロードできません</translation>
    </message>
    <message>
        <source>fits</source>
        <translation>余裕あり</translation>
    </message>
    <message>
        <source>tight</source>
        <translation>ぎりぎり</translation>
    </message>
    <message>
        <source>too big</source>
        <translation>大きすぎ</translation>
    </message>
    <message>
        <source>recommended</source>
        <translation>おすすめ</translation>
    </message>
    <message>
        <source>installed</source>
        <translation>インストール済み</translation>
    </message>
    <message>
        <source>imatrix</source>
        <translation>imatrix</translation>
    </message>
    <message>
        <source>static</source>
        <translation>標準</translation>
    </message>
    <message>
        <source>{} is already installed.</source>
        <translation>{} はインストール済みです。</translation>
    </message>
    <message>
        <source>Downloading {}</source>
        <translation>{} をダウンロードしています</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>中止しています…</translation>
    </message>
    <message>
        <source>Checking {}: {} of {}</source>
        <translation>{} を検証中: {} / {}</translation>
    </message>
    <message>
        <source>{}: {} of {}</source>
        <translation>{}: {} / {}</translation>
    </message>
    <message>
        <source>File {} of {}</source>
        <translation>ファイル {} / {}</translation>
    </message>
    <message>
        <source>{}/s</source>
        <translation>{}/秒</translation>
    </message>
    <message>
        <source>{} left</source>
        <translation>残り {}</translation>
    </message>
    <message>
        <source>{} is installed and in use.</source>
        <translation>{} をインストールし、使用を開始しました。</translation>
    </message>
    <message>
        <source>The download stopped: {}</source>
        <translation>ダウンロードが止まりました: {}</translation>
    </message>
    <message>
        <source>What was downloaded is kept: the next download continues from there.</source>
        <translation>ダウンロード済みの部分は保持され、次回はその続きから再開します。</translation>
    </message>
    <message>
        <source>Download cancelled. What was downloaded is kept: the next download continues from there.</source>
        <translation>ダウンロードを中止しました。ダウンロード済みの部分は保持され、次回はその続きから再開します。</translation>
    </message>
</context>
<context>
    <name>ModelProblems</name>
    <message>
        <source>Offline mode is on (HF_HUB_OFFLINE), so Hugging Face was not asked.</source>
        <translation>オフラインモード (HF_HUB_OFFLINE) が有効なため、Hugging Face には問い合わせていません。</translation>
    </message>
    <message>
        <source>Hugging Face cannot be reached: this computer seems to have no internet connection.</source>
        <translation>Hugging Face に接続できません。このコンピューターはインターネットに接続されていないようです。</translation>
    </message>
    <message>
        <source>Hugging Face did not answer in time: the connection is slow or interrupted.</source>
        <translation>Hugging Face から時間内に応答がありません。接続が遅いか、途切れています。</translation>
    </message>
    <message>
        <source>Another page answered instead of Hugging Face: a Wi-Fi sign-in page or a proxy, perhaps.</source>
        <translation>Hugging Face ではなく別のページが応答しました（Wi-Fi のログインページやプロキシなど）。</translation>
    </message>
    <message>
        <source>The model&apos;s files were not found on Hugging Face: they may have been moved.</source>
        <translation>Hugging Face にモデルのファイルが見つかりません。移動された可能性があります。</translation>
    </message>
    <message>
        <source>Hugging Face answered with an error. Try again later.</source>
        <translation>Hugging Face がエラーを返しました。しばらくしてから再試行してください。</translation>
    </message>
    <message>
        <source>This file does not exist.</source>
        <translation>このファイルは存在しません。</translation>
    </message>
    <message>
        <source>This is a folder, not a GGUF file.</source>
        <translation>これはフォルダーで、GGUF ファイルではありません。</translation>
    </message>
    <message>
        <source>This file cannot be read.</source>
        <translation>このファイルを読み込めません。</translation>
    </message>
    <message>
        <source>This file is empty.</source>
        <translation>このファイルは空です。</translation>
    </message>
    <message>
        <source>This is a web page, probably an error page saved by a failed download, not a GGUF file.</source>
        <translation>これは GGUF ファイルではなくウェブページです（失敗したダウンロードで保存されたエラーページと思われます）。</translation>
    </message>
    <message>
        <source>This is a Git LFS pointer, not the file itself.</source>
        <translation>これは Git LFS のポインタで、ファイル本体ではありません。</translation>
    </message>
    <message>
        <source>This is a safetensors file; a GGUF file is needed.</source>
        <translation>これは safetensors ファイルです。GGUF ファイルが必要です。</translation>
    </message>
    <message>
        <source>This is not a GGUF file.</source>
        <translation>これは GGUF ファイルではありません。</translation>
    </message>
    <message>
        <source>This file is damaged. Download it again.</source>
        <translation>このファイルは壊れています。もう一度ダウンロードしてください。</translation>
    </message>
    <message>
        <source>This file is incomplete: its download was probably interrupted. Download it again.</source>
        <translation>このファイルは不完全です（ダウンロードが中断されたと思われます）。もう一度ダウンロードしてください。</translation>
    </message>
    <message>
        <source>The model and the vision projector are swapped.</source>
        <translation>モデルとビジョンプロジェクタが逆になっています。</translation>
    </message>
    <message>
        <source>This is a vision projector (mmproj), not the text model.</source>
        <translation>これはビジョンプロジェクタ (mmproj) で、テキストモデルではありません。</translation>
    </message>
    <message>
        <source>This is a text model, not a vision projector (mmproj).</source>
        <translation>これはテキストモデルで、ビジョンプロジェクタ (mmproj) ではありません。</translation>
    </message>
    <message>
        <source>This model cannot see images. CapRL Desktop needs a CapRL model (CapRL-3B, a Qwen2.5-VL model, or CapRL 2.0, a Qwen3-VL model).</source>
        <translation>このモデルは画像を見られません。CapRL Desktop には CapRL モデル（Qwen2.5-VL の CapRL-3B、または Qwen3-VL の CapRL 2.0）が必要です。</translation>
    </message>
    <message>
        <source>This projector has no vision encoder, so it cannot read images.</source>
        <translation>このプロジェクタにはビジョンエンコーダーがないため、画像を読み取れません。</translation>
    </message>
    <message>
        <source>This projector belongs to another model. Use the mmproj file published with the model.</source>
        <translation>このプロジェクタは別のモデル用です。モデルと一緒に公開されている mmproj ファイルを使ってください。</translation>
    </message>
</context>
<context>
    <name>Places</name>
    <message>
        <source>Home</source>
        <translation>ホーム</translation>
    </message>
    <message>
        <source>Pictures</source>
        <translation>ピクチャ</translation>
    </message>
    <message>
        <source>Desktop</source>
        <translation>デスクトップ</translation>
    </message>
    <message>
        <source>Computer</source>
        <translation>コンピューター</translation>
    </message>
</context>
<context>
    <name>Preview</name>
    <message>
        <source>Loading…</source>
        <translation>読み込み中…</translation>
    </message>
    <message>
        <source>This image cannot be shown.</source>
        <translation>この画像は表示できません。</translation>
    </message>
</context>
<context>
    <name>QueueBars</name>
    <message>
        <source>Resume</source>
        <translation>再開</translation>
    </message>
    <message>
        <source>Not now</source>
        <translation>後で</translation>
    </message>
    <message>
        <source>Save in another folder…</source>
        <translation>別のフォルダーに保存…</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>閉じる</translation>
    </message>
    <message>
        <source>1 image was left uncaptioned when CapRL Desktop (or a command) stopped last time, in {}.</source>
        <translation>前回 CapRL Desktop（またはコマンド）が止まったとき、1 枚の画像がキャプション未処理のまま残りました（{}）。</translation>
    </message>
    <message>
        <source>{} images were left uncaptioned when CapRL Desktop (or a command) stopped last time, in {}.</source>
        <translation>前回 CapRL Desktop（またはコマンド）が止まったとき、{} 枚の画像がキャプション未処理のまま残りました（{}）。</translation>
    </message>
    <message>
        <source>Resume captions them with the choices that run was started with (language, prompt, detail); what was captioned before is kept and not redone.</source>
        <translation>「再開」は、その実行を始めたときの設定（言語・プロンプト・詳細度）でキャプションを付けます。付け終えたキャプションはそのまま残り、やり直しません。</translation>
    </message>
    <message>
        <source>Captions cannot be saved: {}. Free some space and press Start, or save them in another folder. Captions already made are kept and will be saved.</source>
        <translation>キャプションを保存できません: {}。空き容量を作って「開始」を押すか、別のフォルダーに保存してください。作成済みのキャプションは失われず、後で保存されます。</translation>
    </message>
    <message>
        <source>Captions cannot be saved beside the images: {}. Save them in another folder? Captions already made are kept and will be saved there.</source>
        <translation>画像と同じフォルダーにキャプションを保存できません: {}。別のフォルダーに保存しますか？作成済みのキャプションは失われず、そこに保存されます。</translation>
    </message>
    <message>
        <source>{} already captioned, skipped.</source>
        <translation>{} 枚はキャプション済みのためスキップしました。</translation>
    </message>
    <message>
        <source>These images had a caption before and kept it. Re-caption makes new ones with the language and prompt chosen now (you are asked before captions are replaced).</source>
        <translation>これらの画像には以前のキャプションがあり、そのまま残しています。再キャプションすると、いま選んでいる言語とプロンプトで作り直します（置き換える前に確認します）。</translation>
    </message>
    <message>
        <source>Re-caption in {}</source>
        <translation>{}で再キャプション</translation>
    </message>
</context>
<context>
    <name>QueueController</name>
    <message>
        <source> On macOS, allow CapRL Desktop under System Settings → Privacy &amp; Security → Files and Folders (or Full Disk Access).</source>
        <translation> macOS では「システム設定」→「プライバシーとセキュリティ」→「ファイルとフォルダ」（または「フルディスクアクセス」）で CapRL Desktop を許可してください。</translation>
    </message>
    <message>
        <source>Could not look inside {}: permission denied.</source>
        <translation>{} の中を読めません: アクセスが拒否されました。</translation>
    </message>
    <message>
        <source>No images found there.</source>
        <translation>画像が見つかりませんでした。</translation>
    </message>
    <message>
        <source>The model is captioning now: pause or cancel, then remove it.</source>
        <translation>このモデルはいまキャプションを作成中です。一時停止か中止をしてから削除してください。</translation>
    </message>
    <message>
        <source>The engine crashed and was restarted: {}</source>
        <translation>エンジンが異常終了したため再起動しました: {}</translation>
    </message>
</context>
<context>
    <name>QueueModel</name>
    <message>
        <source>Reading the image…</source>
        <translation>画像を読み込んでいます…</translation>
    </message>
    <message>
        <source>Captioning… 1 token</source>
        <translation>キャプション生成中… 1 トークン</translation>
    </message>
    <message>
        <source>Captioning… {} tokens</source>
        <translation>キャプション生成中… {} トークン</translation>
    </message>
    <message>
        <source>Paused</source>
        <translation>一時停止中</translation>
    </message>
    <message>
        <source>Captioned earlier</source>
        <translation>以前にキャプション済み</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>完了</translation>
    </message>
    <message>
        <source>Done · cut off</source>
        <translation>完了・打ち切り</translation>
    </message>
    <message>
        <source>Up next</source>
        <translation>次に処理</translation>
    </message>
    <message>
        <source>Not captioned</source>
        <translation>未処理</translation>
    </message>
    <message>
        <source>Queued</source>
        <translation>待機中</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>失敗</translation>
    </message>
</context>
<context>
    <name>ReasonWords</name>
    <message>
        <source>a named pipe (FIFO)</source>
        <translation>名前付きパイプ（FIFO）</translation>
    </message>
    <message>
        <source>a device</source>
        <translation>デバイス</translation>
    </message>
    <message>
        <source>a socket</source>
        <translation>ソケット</translation>
    </message>
    <message>
        <source>a folder</source>
        <translation>フォルダー</translation>
    </message>
    <message>
        <source>not a regular file</source>
        <translation>通常のファイルではないもの</translation>
    </message>
    <message>
        <source>{name} no longer exists</source>
        <translation>{name} はもう存在しません</translation>
    </message>
    <message>
        <source>{name} is {what}, not an image file</source>
        <translation>{name} は画像ファイルではなく{what}です</translation>
    </message>
    <message>
        <source>{name} cannot be read: permission denied</source>
        <translation>{name} を読めません：アクセス権がありません</translation>
    </message>
    <message>
        <source>{name} is a symbolic link that leads back to itself</source>
        <translation>{name} は自分自身を指すシンボリックリンクです</translation>
    </message>
    <message>
        <source>{name} cannot be read: {detail}</source>
        <translation>{name} を読めません：{detail}</translation>
    </message>
    <message>
        <source>{name} is {gib} GiB, too large for an image (a video or disk image with an image&apos;s name?)</source>
        <translation>{name} は {gib} GiB あり、画像としては大きすぎます（画像の名前が付いた動画やディスクイメージでは？）</translation>
    </message>
    <message>
        <source>{name} is too large for an image</source>
        <translation>{name} は画像としては大きすぎます</translation>
    </message>
    <message>
        <source>{name} is an empty file</source>
        <translation>{name} は空のファイルです</translation>
    </message>
    <message>
        <source>{name} is too large to decode in the memory available</source>
        <translation>{name} は大きすぎて、使えるメモリーではデコードできません</translation>
    </message>
    <message>
        <source>{name} is damaged or not a supported image ({detail})</source>
        <translation>{name} は壊れているか、対応していない画像です（{detail}）</translation>
    </message>
    <message>
        <source>{name} is not an image the app can read ({formats})</source>
        <translation>{name} はこのアプリで読める画像ではありません（{formats}）</translation>
    </message>
    <message>
        <source>{name} is {width}×{height} pixels ({mode}) that would take {need} of memory decoded; the limit is {limit}</source>
        <translation>{name} は {width}×{height} ピクセル（{mode}）で、デコードに {need} のメモリーが必要です。上限は {limit} です</translation>
    </message>
    <message>
        <source>{name} has no pixels</source>
        <translation>{name} にはピクセルがありません</translation>
    </message>
    <message>
        <source>{name} is {width}×{height} pixels ({megapixels} MP); the limit is {limit} MP</source>
        <translation>{name} は {width}×{height} ピクセル（{megapixels} MP）です。上限は {limit} MP です</translation>
    </message>
    <message>
        <source>{name} is {width}×{height} pixels: shapes longer than {ratio}:1 cannot be captioned</source>
        <translation>{name} は {width}×{height} ピクセルです。縦横比が {ratio}:1 を超える画像にはキャプションを付けられません</translation>
    </message>
    <message>
        <source>the model returned an empty caption</source>
        <translation>モデルが空のキャプションを返しました</translation>
    </message>
    <message>
        <source>caption made but not saved: {why}</source>
        <translation>キャプションは作成しましたが保存できませんでした：{why}</translation>
    </message>
    <message>
        <source>the disk is full; {name} was not written</source>
        <translation>ディスクがいっぱいです。{name} は書き込まれませんでした</translation>
    </message>
    <message>
        <source>no permission to write in {folder}</source>
        <translation>{folder} に書き込む権限がありません</translation>
    </message>
    <message>
        <source>{folder} is on a read-only disk</source>
        <translation>{folder} は読み取り専用のディスクにあります</translation>
    </message>
    <message>
        <source>the name {name} is too long for this disk</source>
        <translation>名前 {name} はこのディスクには長すぎます</translation>
    </message>
    <message>
        <source>{name} could not be written: {detail}</source>
        <translation>{name} を書き込めませんでした：{detail}</translation>
    </message>
    <message>
        <source>not captioned: its caption file {name} is a link to {target}, outside its folder, and nothing is written through such a link</source>
        <translation>キャプションを付けていません：キャプションファイル {name} がフォルダーの外の {target} へのリンクで、そのようなリンクを通しては何も書き込みません</translation>
    </message>
    <message>
        <source>not captioned: the engine crashed on {count} images in a row</source>
        <translation>キャプションを付けていません：エンジンが {count} 枚続けてクラッシュしました</translation>
    </message>
    <message>
        <source>the engine crashed on this image {attempts} times, so it was skipped: {crash}</source>
        <translation>この画像でエンジンが {attempts} 回クラッシュしたため、スキップしました：{crash}</translation>
    </message>
    <message>
        <source>the caption engine stopped ({how}): {detail}</source>
        <translation>キャプションエンジンが停止しました（{how}）：{detail}</translation>
    </message>
    <message>
        <source>the caption engine stopped ({how})</source>
        <translation>キャプションエンジンが停止しました（{how}）</translation>
    </message>
    <message>
        <source>could not start a request: {detail}</source>
        <translation>リクエストを開始できませんでした：{detail}</translation>
    </message>
    <message>
        <source>{server} refused it: {detail}</source>
        <translation>{server} に拒否されました：{detail}</translation>
    </message>
    <message>
        <source>no server could caption it in {tries} tries (last: {server}, {detail})</source>
        <translation>{tries} 回試しても、どのサーバーもキャプションを付けられませんでした（最後：{server}、{detail}）</translation>
    </message>
    <message>
        <source>no caption server answers ({detail}); resume the job once one does</source>
        <translation>応答するキャプションサーバーがありません（{detail}）。応答するようになったらジョブを再開してください</translation>
    </message>
    <message>
        <source>{folder} is being captioned by process {pid} ({what}). Wait for it to finish, or stop it, then try again.</source>
        <translation>{folder} はプロセス {pid}（{what}）がキャプション付け中です。終わるのを待つか止めてから、もう一度試してください。</translation>
    </message>
    <message>
        <source>{folder} is being captioned by another CapRL Desktop window or command. Wait for it to finish, or stop it, then try again.</source>
        <translation>{folder} は別の CapRL Desktop のウィンドウかコマンドがキャプション付け中です。終わるのを待つか止めてから、もう一度試してください。</translation>
    </message>
    <message>
        <source>{folder} is being captioned by process {pid} ({what}), and {clash} overlaps it. Wait for it to finish, or stop it, then try again.</source>
        <translation>{folder} はプロセス {pid}（{what}）がキャプション付け中で、{clash} はそれと重なっています。終わるのを待つか止めてから、もう一度試してください。</translation>
    </message>
    <message>
        <source>{folder} is being captioned by another CapRL Desktop window or command, and {clash} overlaps it. Wait for it to finish, or stop it, then try again.</source>
        <translation>{folder} は別の CapRL Desktop のウィンドウかコマンドがキャプション付け中で、{clash} はそれと重なっています。終わるのを待つか止めてから、もう一度試してください。</translation>
    </message>
</context>
<context>
    <name>ServerDialog</name>
    <message>
        <source>Add a caption server</source>
        <translation>キャプションサーバーを追加</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名前</translation>
    </message>
    <message>
        <source>The OpenAI-compatible API of vLLM, llama.cpp&apos;s llama-server or LM Studio.</source>
        <translation>vLLM、llama.cpp の llama-server、LM Studio の OpenAI 互換 API。</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>アドレス</translation>
    </message>
    <message>
        <source>Find out</source>
        <translation>自動で判定</translation>
    </message>
    <message>
        <source>What the server is set up for: vLLM&apos;s --max-num-seqs, llama-server&apos;s --parallel. “Find out” asks llama-server, and measures the others from their first replies.</source>
        <translation>サーバーの設定値（vLLM の --max-num-seqs、llama-server の --parallel）。「自動で判定」は llama-server には問い合わせ、その他は最初の応答から測ります。</translation>
    </message>
    <message>
        <source>Captions at a time</source>
        <translation>同時に生成する数</translation>
    </message>
    <message>
        <source>No API key</source>
        <translation>API キーなし</translation>
    </message>
    <message>
        <source>From an environment variable</source>
        <translation>環境変数から</translation>
    </message>
    <message>
        <source>Kept in the system keyring</source>
        <translation>システムのキーリングに保存</translation>
    </message>
    <message>
        <source>API key</source>
        <translation>API キー</translation>
    </message>
    <message>
        <source>Only the system&apos;s certificate authorities</source>
        <translation>システムの認証局のみ</translation>
    </message>
    <message>
        <source>For a server whose HTTPS certificate comes from a private certificate authority: that authority&apos;s certificate (PEM).</source>
        <translation>HTTPS 証明書がプライベート認証局のものであるサーバー用：その認証局の証明書（PEM）。</translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation>選択…</translation>
    </message>
    <message>
        <source>Certificates</source>
        <translation>証明書</translation>
    </message>
    <message>
        <source>The variable&apos;s name, e.g. GPU_BOX_KEY</source>
        <translation>環境変数の名前（例: GPU_BOX_KEY）</translation>
    </message>
    <message>
        <source>The key (kept in the keyring, not in CapRL Desktop&apos;s files)</source>
        <translation>キー（CapRL Desktop のファイルではなくキーリングに保存）</translation>
    </message>
    <message>
        <source>Not encrypted: {} is another computer reached over plain http, so the images, captions and any API key sent to it can be read on the network on their way.</source>
        <translation>暗号化されません: {} は暗号化なしの http でつながる別のコンピューターです。送る画像・キャプション・API キーは途中のネットワークで読まれるおそれがあります。</translation>
    </message>
    <message>
        <source>Certificate authority</source>
        <translation>認証局</translation>
    </message>
    <message>
        <source>Certificates (*.pem *.crt *.cer);;All files (*)</source>
        <translation>証明書 (*.pem *.crt *.cer);;すべてのファイル (*)</translation>
    </message>
    <message>
        <source>Give the API key, or choose “No API key”.</source>
        <translation>API キーを入力するか、「API キーなし」を選んでください。</translation>
    </message>
    <message>
        <source>No environment variable of that name is set for CapRL Desktop. Give the name of the variable that holds the key (set where CapRL Desktop is started), or choose “Kept in the system keyring”.</source>
        <translation>その名前の環境変数は CapRL Desktop に設定されていません。キーを保持する変数の名前（CapRL Desktop を起動する環境で設定）を入力するか、「システムのキーリングに保存」を選んでください。</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Settings — CapRL Desktop</source>
        <translation>設定 — CapRL Desktop</translation>
    </message>
    <message>
        <source>Fast</source>
        <translation>高速</translation>
    </message>
    <message>
        <source>Balanced</source>
        <translation>標準</translation>
    </message>
    <message>
        <source>Maximum</source>
        <translation>最大</translation>
    </message>
    <message>
        <source>{} (up to {} image tokens)</source>
        <translation>{}（画像トークン最大 {}）</translation>
    </message>
    <message>
        <source>How finely the image is looked at. Maximum reads small print in documents and charts best; Fast is several times quicker on a CPU.</source>
        <translation>画像をどれだけ細かく見るか。「最大」は書類やグラフの小さな文字を最もよく読み取り、「高速」は CPU で数倍速くなります。</translation>
    </message>
    <message>
        <source>Image detail</source>
        <translation>画像の精細さ</translation>
    </message>
    <message>
        <source> tokens</source>
        <translation> トークン</translation>
    </message>
    <message>
        <source>Longest caption</source>
        <translation>キャプションの最大長</translation>
    </message>
    <message>
        <source>1.0 is what CapRL models were trained with; 0 always picks the most likely word.</source>
        <translation>1.0 は CapRL モデルの学習時の値です。0 は常に最も確からしい語を選びます。</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>温度</translation>
    </message>
    <message>
        <source>Random</source>
        <translation>ランダム</translation>
    </message>
    <message>
        <source>A fixed seed gives the same caption for the same image and settings.</source>
        <translation>シードを固定すると、同じ画像と設定から同じキャプションが得られます。</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>シード</translation>
    </message>
    <message>
        <source>All (when a GPU is used)</source>
        <translation>すべて（GPU 使用時）</translation>
    </message>
    <message>
        <source>Layers of the model put on the GPU; 0 runs on the CPU. Fewer layers need less GPU memory.</source>
        <translation>GPU に載せるモデルの層数。0 なら CPU で動きます。層が少ないほど GPU メモリの使用量が減ります。</translation>
    </message>
    <message>
        <source>GPU layers</source>
        <translation>GPU レイヤー数</translation>
    </message>
    <message>
        <source>Automatic ({})</source>
        <translation>自動 ({})</translation>
    </message>
    <message>
        <source>CPU threads</source>
        <translation>CPU スレッド数</translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation>自動</translation>
    </message>
    <message>
        <source>Captions made side by side in a folder. They share each pass over the model, so more at a time finish more images per minute, each a little slower. Automatic fits the number to the GPU or CPU and free memory.</source>
        <translation>フォルダーの画像を同時に何枚キャプション生成するか。モデルの計算を共有するので、同時に多いほど 1 分あたりの枚数は増え、1 枚ごとは少し遅くなります。自動では GPU または CPU と空きメモリに合わせて決めます。</translation>
    </message>
    <message>
        <source>Captions at a time</source>
        <translation>同時に生成する数</translation>
    </message>
    <message>
        <source>Start captioning as soon as images are added</source>
        <translation>画像を追加したらすぐにキャプションを開始する</translation>
    </message>
    <message>
        <source>Off: images dropped or opened wait for Start (F5), so the caption language and prompt can be chosen first. Images sent from the file manager are always captioned at once.</source>
        <translation>オフ：ドロップしたり開いたりした画像は「開始」(F5) まで待つので、先にキャプションの言語とプロンプトを選べます。ファイルマネージャーから送った画像は常にすぐキャプションを付けます。</translation>
    </message>
    <message>
        <source>New images</source>
        <translation>追加した画像</translation>
    </message>
    <message>
        <source>Skip images that already have a caption</source>
        <translation>キャプションのある画像は飛ばす</translation>
    </message>
    <message>
        <source>Caption them again and replace the caption</source>
        <translation>もう一度キャプションを付けて置き換える</translation>
    </message>
    <message>
        <source>Existing captions</source>
        <translation>既存のキャプション</translation>
    </message>
    <message>
        <source>Only in the .txt caption files</source>
        <translation>.txt のキャプションファイルだけ</translation>
    </message>
    <message>
        <source>Also inside the images (XMP, IPTC, EXIF)</source>
        <translation>画像の中にも書き込む（XMP、IPTC、EXIF）</translation>
    </message>
    <message>
        <source>Also in XMP sidecar files (photo.xmp)</source>
        <translation>XMP サイドカーファイルにも書く（photo.xmp）</translation>
    </message>
    <message>
        <source>Photo managers (Lightroom, digiKam, Explorer, Finder) read a description inside the image or in its .xmp file. The image data is never changed; types that cannot hold one get the .xmp file.</source>
        <translation>写真管理ソフト（Lightroom、digiKam、エクスプローラー、Finder）は画像の中か .xmp ファイルの説明を読みます。画像データは変更しません。説明を持てない形式には .xmp ファイルを作ります。</translation>
    </message>
    <message>
        <source>Descriptions</source>
        <translation>説明</translation>
    </message>
    <message>
        <source>For new captions and edits. For captions already made: Caption → Write descriptions into the images.</source>
        <translation>新しいキャプションと編集に適用されます。作成済みのキャプションは「キャプション → 画像に説明を書き込む」で書き込めます。</translation>
    </message>
    <message>
        <source>Keep a description someone else wrote</source>
        <translation>他の人が書いた説明は残す</translation>
    </message>
    <message>
        <source>Replace it (`caprl-desktop metadata restore` puts it back)</source>
        <translation>置き換える（`caprl-desktop metadata restore` で元に戻せます）</translation>
    </message>
    <message>
        <source>Their descriptions</source>
        <translation>既存の説明</translation>
    </message>
    <message>
        <source>Beside the images</source>
        <translation>画像と同じフォルダー</translation>
    </message>
    <message>
        <source>Leave empty to save each caption as a .txt file beside its image. A folder here keeps the captions apart (for read-only disks): one subfolder for each folder captioned.</source>
        <translation>空欄なら、各キャプションを画像と同じフォルダーに .txt ファイルとして保存します。フォルダーを指定すると、キャプションを別に保存します（読み取り専用のディスク向け）。キャプションを付けたフォルダーごとにサブフォルダーを作ります。</translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation>選択…</translation>
    </message>
    <message>
        <source>Save captions</source>
        <translation>キャプションの保存</translation>
    </message>
    <message>
        <source> min</source>
        <translation> 分</translation>
    </message>
    <message>
        <source>Never</source>
        <translation>しない</translation>
    </message>
    <message>
        <source>Free the model&apos;s memory when nothing has been captioned for this long; it loads again for the next image.</source>
        <translation>この時間キャプションを付けなかったらモデルのメモリを解放します。次の画像で再び読み込みます。</translation>
    </message>
    <message>
        <source>Unload the model after</source>
        <translation>モデルを解放するまでの時間</translation>
    </message>
    <message>
        <source>Show “Caption with CapRL” when right-clicking folders and images</source>
        <translation>フォルダーや画像の右クリックメニューに「CapRLでキャプション」を表示する</translation>
    </message>
    <message>
        <source>In Explorer, Finder, Nautilus, Dolphin and Nemo, for you only; the same as `caprl-desktop integrate install`.</source>
        <translation>エクスプローラー、Finder、Nautilus、Dolphin、Nemo に、このユーザーだけ追加します（`caprl-desktop integrate install` と同じ）。</translation>
    </message>
    <message>
        <source>File manager</source>
        <translation>ファイルマネージャー</translation>
    </message>
    <message>
        <source>System language</source>
        <translation>システムの言語</translation>
    </message>
    <message>
        <source>Interface language</source>
        <translation>表示言語</translation>
    </message>
    <message>
        <source>The interface language changes the next time CapRL Desktop starts. The caption language is chosen in the main window.</source>
        <translation>表示言語は CapRL Desktop の次回起動時に切り替わります。キャプションの言語はメインウィンドウで選びます。</translation>
    </message>
    <message>
        <source>Captions</source>
        <translation>キャプション</translation>
    </message>
    <message>
        <source>Engine</source>
        <translation>エンジン</translation>
    </message>
    <message>
        <source>Advanced</source>
        <translation>詳細設定</translation>
    </message>
    <message>
        <source>Save captions in</source>
        <translation>キャプションの保存先</translation>
    </message>
</context>
<context>
    <name>StatusLine</name>
    <message>
        <source>No model installed</source>
        <translation>モデルがインストールされていません</translation>
    </message>
    <message>
        <source>Loading the model…</source>
        <translation>モデルを読み込んでいます…</translation>
    </message>
    <message>
        <source>Model unloaded while idle; it loads again for the next image</source>
        <translation>使われていないためモデルを解放しました。次の画像で再び読み込みます</translation>
    </message>
    <message>
        <source>The model could not be loaded</source>
        <translation>モデルを読み込めませんでした</translation>
    </message>
    <message>
        <source>{} captions at a time</source>
        <translation>同時に {} 枚</translation>
    </message>
    <message>
        <source>{}: {} done · {:.1f} img/min</source>
        <translation>{}: {} 件完了 · {:.1f} 枚/分</translation>
    </message>
    <message>
        <source>{} at a time, still measuring</source>
        <translation>同時に {} 件（測定中）</translation>
    </message>
    <message>
        <source>{} at a time</source>
        <translation>同時に {} 件</translation>
    </message>
    <message>
        <source>{:.1f} tokens/s</source>
        <translation>{:.1f} トークン/秒</translation>
    </message>
    <message>
        <source>{} / {} images</source>
        <translation>{} / {} 枚</translation>
    </message>
    <message>
        <source>Get a model…</source>
        <translation>モデルを入手…</translation>
    </message>
    <message>
        <source>CPU (the GPU build could not start)</source>
        <translation>CPU（GPU版を起動できませんでした）</translation>
    </message>
    <message>
        <source>CPU only</source>
        <translation>CPU のみ</translation>
    </message>
    <message>
        <source>This build of llama.cpp has no GPU support, so captions are made on the processor. README, section &quot;GPU builds of llama-cpp-python&quot;, says how to install the build for your GPU.</source>
        <translation>この llama.cpp のビルドは GPU に対応していないため、キャプションは CPU で作成されます。GPU 用のビルドの入れ方は README の「GPU builds of llama-cpp-python」の節にあります。</translation>
    </message>
    <message>
        <source>Servers: {}</source>
        <translation>サーバー: {}</translation>
    </message>
    <message>
        <source>Images are sent to these servers; nothing is captioned on this computer.</source>
        <translation>画像はこれらのサーバーに送られ、このコンピューターではキャプションを生成しません。</translation>
    </message>
    <message>
        <source>not answering: {}</source>
        <translation>応答なし: {}</translation>
    </message>
    <message>
        <source>The models the servers serve</source>
        <translation>サーバーが提供しているモデル</translation>
    </message>
    <message>
        <source>{} is slow (no reply for {} s)</source>
        <translation>{} の応答が遅れています（{} 秒応答なし）</translation>
    </message>
    <message>
        <source>{} left out</source>
        <translation>{} 除外中</translation>
    </message>
    <message>
        <source>{}: {} captions, {:.1f} images/min, {:.1f} tokens/s, {} in flight</source>
        <translation>{}: {} 件、{:.1f} 枚/分、{:.1f} トークン/秒、処理中 {} 件</translation>
    </message>
    <message>
        <source>left out: {}</source>
        <translation>除外: {}</translation>
    </message>
    <message>
        <source>{} done</source>
        <translation>{} 枚完了</translation>
    </message>
    <message>
        <source>{} failed</source>
        <translation>{} 枚失敗</translation>
    </message>
    <message>
        <source>{} skipped</source>
        <translation>{} 枚スキップ</translation>
    </message>
    <message>
        <source>{} / 1 image</source>
        <translation>{} / 1 枚</translation>
    </message>
    <message>
        <source>Paused</source>
        <translation>一時停止中</translation>
    </message>
    <message>
        <source> · about {} left</source>
        <translation> · 残り約 {}</translation>
    </message>
</context>
<context>
    <name>app</name>
    <message>
        <source>Something went wrong: {}</source>
        <translation>問題が発生しました: {}</translation>
    </message>
    <message>
        <source>The details are in {}</source>
        <translation>詳細は {} にあります</translation>
    </message>
    <message>
        <source>CapRL Desktop is already running but does not answer, so these images were not added: {}. Close it (or wait for it to finish starting) and try again.</source>
        <translation>CapRL Desktop は起動していますが応答がないため、次の画像を追加できませんでした: {}。終了するか（起動の完了を待ってから）もう一度お試しください。</translation>
    </message>
</context>
<context>
    <name>clipboard</name>
    <message>
        <source>The clipboard holds no image.</source>
        <translation>クリップボードに画像がありません。</translation>
    </message>
    <message>
        <source>The pasted image could not be saved in {}</source>
        <translation>貼り付けた画像を {} に保存できませんでした</translation>
    </message>
</context>
<context>
    <name>duration</name>
    <message>
        <source>{} s</source>
        <translation>{} 秒</translation>
    </message>
    <message>
        <source>{} min {:02d} s</source>
        <translation>{} 分 {:02d} 秒</translation>
    </message>
    <message>
        <source>{} h {:02d} min</source>
        <translation>{} 時間 {:02d} 分</translation>
    </message>
</context>
</TS>
